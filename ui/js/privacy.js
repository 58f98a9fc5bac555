// Privacy settings: capture level, excluded apps, password and login windows (a switch and the
// words that mark them), mouse rate, retention, start at login. Adding an app to the exclusions
// offers to delete what was already recorded of it.

import { call } from './api.js';
import { $, busy, h, toast, toastError } from './dom.js';
import { plural } from './format.js';
import { previewAndDelete } from './remove.js';

let saved = null;      // the settings as last loaded or saved
let excluded = [];     // the exclusion list being edited
let sensitive = [];    // the sensitive-window patterns being edited
let sensitiveDefaults = [];
let ranges = { mouse: [1, 1000], retention: [1, 3650] };
let onDeleted = () => {};

const same = (a, b) => a.toLowerCase() === b.toLowerCase();
const has = (list, app) => list.some((x) => same(x, app));

function renderExcluded() {
  const list = $('#settings-excluded');
  list.replaceChildren(
    ...excluded.map((app) =>
      h('li', { className: 'chip' },
        h('span', { className: 'chip-name', textContent: app }),
        h('button', {
          type: 'button',
          className: 'chip-remove',
          textContent: '✕',
          title: `Remove ${app}`,
          dataset: { app },
          attrs: { 'aria-label': `Remove ${app} from the excluded apps` },
        }))),
  );
  if (excluded.length === 0) {
    list.append(h('li', { className: 'muted small', textContent: 'No apps are excluded.' }));
  }
}

function renderSensitive() {
  const list = $('#settings-sensitive');
  list.replaceChildren(
    ...sensitive.map((p) =>
      h('li', { className: 'chip' },
        h('span', { className: 'chip-name', textContent: p }),
        h('button', {
          type: 'button',
          className: 'chip-remove',
          textContent: '✕',
          title: `Remove ${p}`,
          dataset: { pattern: p },
          attrs: { 'aria-label': `Remove “${p}” from the password and login words` },
        }))),
  );
  if (sensitive.length === 0) {
    list.append(h('li', {
      className: 'muted small',
      textContent: 'No words: only excluded apps are protected.',
    }));
  }
  $('#sensitive-fields').disabled = !$('#sensitive-on').checked;
}

function showLevelHelp() {
  const level = $('#settings-level').value;
  for (const li of document.querySelectorAll('#level-help li')) {
    li.classList.toggle('current', li.dataset.level === level);
  }
}

function current() {
  return {
    capture_level: $('#settings-level').value,
    excluded_apps: excluded.slice(),
    mouse_rate: Number($('#settings-mouse-rate').value),
    retention_days: Number($('#settings-retention').value),
    sensitive_windows: $('#sensitive-on').checked,
    sensitive_patterns: sensitive.slice(),
  };
}

const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

function updateDirty() {
  if (!saved) return;
  const c = current();
  const dirty =
    c.capture_level !== saved.capture_level ||
    c.mouse_rate !== saved.mouse_rate ||
    c.retention_days !== saved.retention_days ||
    c.sensitive_windows !== saved.sensitive_windows ||
    !sameList(c.sensitive_patterns, saved.sensitive_patterns) ||
    !sameList(c.excluded_apps, saved.excluded_apps);
  $('#settings-dirty').hidden = !dirty;
}

function fill(view) {
  saved = view.settings;
  excluded = saved.excluded_apps.slice();
  sensitive = saved.sensitive_patterns.slice();
  sensitiveDefaults = view.default_sensitive_patterns.slice();
  $('#sensitive-on').checked = saved.sensitive_windows;
  ranges = { mouse: view.mouse_rate_range, retention: view.retention_range };
  $('#settings-level').value = saved.capture_level;
  const rate = $('#settings-mouse-rate');
  rate.min = ranges.mouse[0];
  rate.max = ranges.mouse[1];
  rate.value = saved.mouse_rate;
  const days = $('#settings-retention');
  days.min = ranges.retention[0];
  days.max = ranges.retention[1];
  days.value = saved.retention_days;
  $('#recent-apps').replaceChildren(...view.recent_apps.map((a) => h('option', { value: a })));
  renderExcluded();
  renderSensitive();
  showLevelHelp();
  updateDirty();
}

function checkNumber(input, [lo, hi], what) {
  const v = Number(input.value);
  const ok = input.value.trim() !== '' && Number.isInteger(v) && v >= lo && v <= hi;
  input.setAttribute('aria-invalid', ok ? 'false' : 'true');
  if (!ok) {
    input.focus();
    throw { kind: 'invalid', message: `${what} must be a whole number from ${lo} to ${hi}.` };
  }
}

function addExcluded() {
  const input = $('#exclude-input');
  const app = input.value.trim();
  if (!app) {
    toast('Type or pick an app name first.', 'info');
    input.focus();
    return;
  }
  if (has(excluded, app)) {
    toast(`${app} is already excluded.`, 'info');
  } else {
    excluded.push(app);
    renderExcluded();
    updateDirty();
    toast(`${app} will be excluded once you save.`, 'info');
  }
  input.value = '';
  input.focus();
}

// The settings file's rules, checked here only to say so at once; the app checks them again.
function patternProblem(p) {
  if (p.replace(/^\*/, '').replace(/\*$/, '').includes('*')) return 'may have a * only at its start or end';
  if (!/[\p{L}\p{N}]/u.test(p)) return 'has no letter or digit to look for';
  return null;
}

function addSensitive() {
  const input = $('#sensitive-input');
  const p = input.value.trim();
  if (!p) {
    toast('Type a word or phrase first, e.g. Kennwort*.', 'info');
    input.focus();
    return;
  }
  const problem = patternProblem(p);
  input.setAttribute('aria-invalid', problem ? 'true' : 'false');
  if (problem) {
    toast(`“${p}” ${problem}.`, 'error');
    input.focus();
    return;
  }
  if (has(sensitive, p)) {
    toast(`“${p}” is already in the list.`, 'info');
  } else {
    sensitive.push(p);
    renderSensitive();
    updateDirty();
    toast(`Windows with “${p}” in their title or app name will keep only key counts once you save.`, 'info');
  }
  input.value = '';
  input.focus();
}

async function offerDeletion(app) {
  const preview = await call('delete_preview', { input: { what: 'app', app } });
  if (preview.events === 0) return;
  await previewAndDelete({ what: 'app', app }, {
    title: `${app} is now excluded`,
    text: (p) =>
      `Also delete what was already recorded of ${app}? ${plural(p.events, 'event')} from before it was excluded will be deleted from this computer for good.`,
    no: 'Keep them',
    after: onDeleted,
  });
}

async function save() {
  checkNumber($('#settings-mouse-rate'), ranges.mouse, 'The mouse rate');
  checkNumber($('#settings-retention'), ranges.retention, 'Retention');
  const before = saved ? saved.excluded_apps.slice() : [];
  const wasSensitive = saved ? saved.sensitive_windows : true;
  const view = await call('save_settings', { input: current() });
  fill(view);
  const added = view.settings.excluded_apps.filter((a) => !has(before, a));
  const now = view.settings.sensitive_windows;
  let note = '';
  if (now !== wasSensitive) {
    note = now
      ? ' Password and login windows keep only key counts.'
      : ' Keys in password and login windows are now stored like any others.';
  }
  toast(`Settings saved. They apply from now on.${note}`);
  for (const app of added) {
    try {
      await offerDeletion(app);
    } catch (e) {
      toastError(e);
    }
  }
}

/** Loads the settings and the autostart state (when the view is shown). */
export async function refreshPrivacy() {
  try {
    const [view, auto] = await Promise.all([call('settings'), call('autostart')]);
    // Keep unsaved edits if the person is in the middle of changing something.
    if (!saved || $('#settings-dirty').hidden) fill(view);
    else $('#recent-apps').replaceChildren(...view.recent_apps.map((a) => h('option', { value: a })));
    $('#autostart').checked = auto;
    $('#key-keyring').hidden = view.key_source !== 'keyring';
    $('#key-passphrase').hidden = view.key_source !== 'passphrase';
  } catch (e) {
    toastError(e);
  }
}

export function initPrivacy({ deleted }) {
  onDeleted = deleted;
  $('#settings-level').addEventListener('change', () => { showLevelHelp(); updateDirty(); });
  $('#settings-mouse-rate').addEventListener('input', updateDirty);
  $('#settings-retention').addEventListener('input', updateDirty);
  $('#exclude-add').addEventListener('click', addExcluded);
  $('#sensitive-on').addEventListener('change', () => { renderSensitive(); updateDirty(); });
  $('#sensitive-add').addEventListener('click', addSensitive);
  $('#sensitive-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      addSensitive();
    }
  });
  $('#sensitive-defaults').addEventListener('click', () => {
    sensitive = sensitiveDefaults.slice();
    renderSensitive();
    updateDirty();
    toast('The default list is back; save to keep it.', 'info');
  });
  $('#settings-sensitive').addEventListener('click', (e) => {
    const b = e.target.closest('button.chip-remove');
    if (!b) return;
    sensitive = sensitive.filter((p) => p !== b.dataset.pattern);
    renderSensitive();
    updateDirty();
    toast(`“${b.dataset.pattern}” will no longer mark a window once you save.`, 'info');
  });
  $('#exclude-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      addExcluded();
    }
  });
  $('#settings-excluded').addEventListener('click', (e) => {
    const b = e.target.closest('button.chip-remove');
    if (!b) return;
    excluded = excluded.filter((a) => a !== b.dataset.app);
    renderExcluded();
    updateDirty();
    toast(`${b.dataset.app} will no longer be excluded once you save.`, 'info');
  });
  $('#settings-form').addEventListener('submit', (e) => {
    e.preventDefault();
    busy($('#settings-save'), save);
  });
  const auto = $('#autostart');
  auto.addEventListener('change', async () => {
    const want = auto.checked;
    auto.disabled = true;
    try {
      auto.checked = await call('set_autostart', { enabled: want });
      toast(want ? 'Glasshouse will start when you log in.' : 'Glasshouse will no longer start at login.');
    } catch (e) {
      auto.checked = !want;
      toastError(e);
    } finally {
      auto.disabled = false;
    }
  });
}
