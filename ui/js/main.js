// Wires the dashboard: navigation between views, the first load, and the events Rust pushes
// (src-tauri/app/events.rs). Each view's module owns its own DOM.

import { call, EVENTS, on } from './api.js';
import { $, $$, toastError } from './dom.js';
import { initHeader, showStatus } from './header.js';
import { initToday, refreshToday, showCounters } from './today.js';
import { showFeed } from './feed.js';
import { initPrivacy, refreshPrivacy } from './privacy.js';
import { initDelete, refreshDelete } from './delete.js';
import { refreshLog } from './log.js';
import { initConfirm } from './confirm.js';
import { initUploads, refreshUploads, showPendingCount } from './uploads.js';

const REFRESH = {
  today: refreshToday,
  feed: () => call('live_feed').then(showFeed, toastError),
  privacy: refreshPrivacy,
  delete: refreshDelete,
  uploads: refreshUploads,
  log: refreshLog,
};

let active = 'today';

function showView(name) {
  if (!REFRESH[name]) return;
  active = name;
  for (const b of $$('nav button[data-view]')) {
    if (b.dataset.view === name) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  for (const s of $$('section.view[data-view]')) s.hidden = s.dataset.view !== name;
  $('#main').scrollTop = 0;
  REFRESH[name]();
}

/** After any delete: the counters, charts, feed and log all change. */
function afterDelete() {
  refreshToday();
  refreshLog();
  refreshUploads();
}

/** The dashboard process lost (or got back) its link to the recorder: say so above everything. */
function showConnection(c) {
  const banner = $('#connection-banner');
  banner.textContent = c.connected ? '' : c.message || 'Lost the connection to Glasshouse.';
  banner.hidden = c.connected;
}

// Several events can arrive together (a delete sends status and data-changed): one refresh each.
function coalesce(fn, ms = 150) {
  let timer = 0;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

async function start() {
  initConfirm();
  initHeader();
  initToday(() => active === 'today');
  initPrivacy({ deleted: afterDelete });
  initDelete({ deleted: afterDelete });
  initUploads({ changed: refreshLog, show: showView });
  for (const b of $$('nav button[data-view]')) {
    b.addEventListener('click', () => showView(b.dataset.view));
  }

  const refreshData = coalesce(() => {
    refreshToday();
    refreshLog();
  });
  await Promise.all([
    on(EVENTS.status, (s) => {
      showStatus(s);
      refreshData();
    }),
    on(EVENTS.counters, (c) => showCounters(c.counts, c.excluded_secs)),
    on(EVENTS.feed, showFeed),
    on(EVENTS.dataChanged, refreshData),
    on(EVENTS.connection, showConnection),
    on(EVENTS.uploads, (u) => {
      showPendingCount(u.pending);
      if (active === 'uploads') refreshUploads();
    }),
  ]).catch(toastError);

  call('status').then(showStatus, toastError);
  call('live_feed').then(showFeed, toastError);
  refreshToday();
  refreshLog();
  refreshUploads();
  // `index.html#uploads` (the tray's "Review uploads") opens that view, at start or later.
  const follow = () => {
    const wanted = window.location.hash.slice(1);
    if (wanted && wanted !== active) showView(wanted);
  };
  window.addEventListener('hashchange', follow);
  follow();
}

start();
