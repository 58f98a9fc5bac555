// The Delete view: recent periods, a custom range, one app, everything. Each previews, asks with
// the number of events, deletes and says what went.

import { call } from './api.js';
import { $, busy, h, toastError } from './dom.js';
import { localInputValue } from './format.js';
import { previewAndDelete } from './remove.js';

let onDeleted = () => {};

function run(button, input) {
  return busy(button, () => previewAndDelete(typeof input === 'function' ? input() : input, { after: onDeleted }));
}

function rangeInput() {
  const since = $('#delete-since').value;
  const until = $('#delete-until').value;
  if (!since || !until) {
    throw { kind: 'invalid', message: 'Choose both the start and the end of the range.' };
  }
  return { what: 'range', since, until };
}

function appInput() {
  const app = $('#delete-app-select').value;
  if (!app) throw { kind: 'invalid', message: 'Choose an app to delete.' };
  return { what: 'app', app };
}

/** Fills the app list and a sensible default range (the last hour) when the view is shown. */
export async function refreshDelete() {
  const since = $('#delete-since');
  const until = $('#delete-until');
  if (!since.value || !until.value) {
    const now = new Date();
    until.value = localInputValue(now);
    since.value = localInputValue(new Date(now.getTime() - 3600_000));
  }
  try {
    const view = await call('settings');
    const select = $('#delete-app-select');
    const keep = select.value;
    const apps = view.recent_apps.filter((a) => a !== '(excluded app)');
    select.replaceChildren(
      ...(apps.length ? apps.map((a) => h('option', { value: a, textContent: a })) : [h('option', { value: '', textContent: 'No apps recorded' })]),
    );
    if (apps.includes(keep)) select.value = keep;
    $('#delete-app').disabled = apps.length === 0;
  } catch (e) {
    toastError(e);
  }
}

export function initDelete({ deleted }) {
  onDeleted = (report) => {
    deleted(report);
    refreshDelete();
  };
  const bind = (id, input) => $(id).addEventListener('click', (e) => run(e.currentTarget, input));
  bind('#delete-last-15', { what: 'last', minutes: 15 });
  bind('#delete-last-60', { what: 'last', minutes: 60 });
  bind('#delete-today', { what: 'today' });
  bind('#delete-all', { what: 'all' });
  bind('#delete-app', appInput);
  $('#delete-range-form').addEventListener('submit', (e) => {
    e.preventDefault();
    run($('#delete-range'), rangeInput);
  });
}
