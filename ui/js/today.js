// Today: live counters, the charts from the `dashboard` command and the per-app table.

import { call } from './api.js';
import { $, h, setValue, toastError } from './dom.js';
import { count, duration, pixels } from './format.js';
import { showSvg } from './charts.js';

const dark = window.matchMedia('(prefers-color-scheme: dark)');

const KEYS_NOTE = {
  full: ['Keyboard heatmap', 'How often each key was pressed today, and where on the screen you clicked.'],
  categories: ['Kinds of keys', 'The kinds of keys pressed today (the categories level keeps nothing more), and where you clicked.'],
  counts: ['Key presses', 'Key presses today (the counts level keeps only the number), and where you clicked.'],
};

/** Updates the five counters from a `Counts` and the seconds spent in excluded apps. */
export function showCounters(counts, excludedSecs) {
  if (!counts) return;
  setValue($('#count-keys'), counts.keys, count(counts.keys));
  setValue($('#count-clicks'), counts.clicks, count(counts.clicks));
  setValue($('#count-scroll'), counts.scroll_steps, count(counts.scroll_steps));
  setValue($('#count-distance'), counts.distance_px, pixels(counts.distance_px));
  setValue($('#count-active'), counts.active_secs, duration(counts.active_secs));
  const note = $('#excluded-note');
  if (excludedSecs > 0) {
    note.textContent = `Also ${duration(excludedSecs)} in excluded apps today: only the time is kept, nothing typed or clicked.`;
    note.hidden = false;
  } else {
    note.hidden = true;
  }
}

function showApps(rows) {
  const body = $('#apps-rows');
  body.replaceChildren(
    ...rows.map((r) =>
      h('tr', {},
        h('th', { scope: 'row', textContent: r.app }),
        h('td', { className: 'num', textContent: duration(r.counts.active_secs) }),
        h('td', { className: 'num', textContent: count(r.counts.keys) }),
        h('td', { className: 'num', textContent: count(r.counts.clicks) })),
    ),
  );
  $('#apps-table').hidden = rows.length === 0;
  $('#apps-empty').hidden = rows.length !== 0;
}

function show(d) {
  $('#today-day').textContent = d.day;
  showCounters(d.today, d.excluded_secs);
  const level = (d.status && d.status.capture_level) || 'full';
  const [keysAlt, note] = KEYS_NOTE[level] || KEYS_NOTE.full;
  $('#keys-note').textContent = note;
  showSvg($('#chart-timeline'), d.charts.timeline, 'Activity per minute today');
  showSvg($('#chart-apps-today'), d.charts.apps_today, 'Time per app today');
  showSvg($('#chart-apps-week'), d.charts.apps_week, 'Time per app, last 7 days');
  showSvg($('#chart-keys'), d.charts.keys, keysAlt);
  showSvg($('#chart-clicks'), d.charts.clicks, 'Click heatmap');
  showApps(d.apps_today);
}

// The timeline is drawn in Rust to the width its card has, so its labels keep their size.
let drawnWidth = 0;
let lastWidth = 1080;

function timelineWidth() {
  const box = $('#chart-timeline');
  const style = getComputedStyle(box);
  const w = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  if (w > 0) lastWidth = Math.floor(w);
  return lastWidth;
}

let inFlight = null;
let again = false;

/** Fetches and shows the dashboard; calls made while one runs are merged into one more. */
export function refreshToday() {
  if (inFlight) {
    again = true;
    return inFlight;
  }
  inFlight = (async () => {
    try {
      do {
        again = false;
        const width = timelineWidth();
        show(await call('dashboard', { dark: dark.matches, width }));
        drawnWidth = width;
      } while (again);
    } catch (e) {
      toastError(e);
    } finally {
      inFlight = null;
    }
  })();
  return inFlight;
}

export function initToday(isVisible) {
  dark.addEventListener('change', () => { if (isVisible()) refreshToday(); });
  let timer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (isVisible() && Math.abs(timelineWidth() - drawnWidth) >= 24) refreshToday();
    }, 250);
  });
}
