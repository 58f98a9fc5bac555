// The activity log: what the app did on the person's behalf, newest first.

import { call } from './api.js';
import { $, h, toastError } from './dom.js';
import { logTime } from './format.js';

let lastKey = '';

export async function refreshLog() {
  try {
    const entries = await call('activity', { limit: 200 });
    const key = JSON.stringify(entries);
    if (key === lastKey) return;
    lastKey = key;
    const newest = entries.slice().sort((a, b) => b.ts - a.ts);
    $('#activity').replaceChildren(
      ...newest.map((e) =>
        h('li', { className: 'log-item', dataset: { kind: e.kind } },
          h('time', { className: 'log-time', textContent: logTime(e.ts), attrs: { datetime: new Date(e.ts / 1000).toISOString() } }),
          h('span', { className: `badge badge-${e.kind}`, textContent: e.kind }),
          h('span', { className: 'log-detail', textContent: e.detail }))),
    );
    $('#activity-empty').hidden = newest.length > 0;
  } catch (e) {
    toastError(e);
  }
}
