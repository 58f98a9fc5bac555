// The live feed: the last 50 stored items, newest first. The whole list arrives up to four times a
// second; items that did not change keep their <li>, so an update touches only what is new.

import { $, h } from './dom.js';
import { clock, count, plural, pixels } from './format.js';

const EXCLUDED_APP = '(excluded app)';

/** Identity of an item's content: same key → same <li>. */
const keyOf = (item) => JSON.stringify(item);

function scrollWords(item) {
  const vertical = Math.abs(item.dy) >= Math.abs(item.dx);
  const dir = vertical ? (item.dy > 0 ? 'up' : 'down') : item.dx > 0 ? 'right' : 'left';
  return `scrolled ${dir} ${plural(item.steps, 'step')}`;
}

function content(item) {
  switch (item.kind) {
    case 'text':
      return h('span', { className: 'feed-content' },
        h('code', { className: 'typed', textContent: item.text || ' ' }),
        h('span', { className: 'feed-aside', textContent: plural(item.keys, 'key') }));
    case 'keys':
      return h('span', { className: 'feed-content', textContent: item.summary });
    case 'click':
      return h('span', { className: 'feed-content', textContent: `${item.button} click at (${item.x}, ${item.y})` });
    case 'scroll':
      return h('span', { className: 'feed-content', textContent: scrollWords(item) });
    case 'mouse': {
      const times = item.moves === 1 ? 'once' : `${count(item.moves)} times`;
      return h('span', { className: 'feed-content', textContent: `moved the mouse ${times}, ${pixels(item.distance_px)}` });
    }
    case 'excluded':
      return h('span', { className: 'feed-content', textContent: `${count(item.secs)} s in an excluded app (nothing stored)` });
    default:
      return h('span', { className: 'feed-content', textContent: item.kind });
  }
}

function build(item) {
  const excluded = item.kind === 'excluded';
  const app = excluded ? EXCLUDED_APP : item.app || 'unknown app';
  return h('li', { className: `feed-item feed-${item.kind}`, dataset: { kind: item.kind } },
    h('time', { className: 'feed-time', textContent: clock(item.start), attrs: { datetime: new Date(item.start / 1000).toISOString() } }),
    h('span', { className: 'feed-where' },
      h('span', { className: 'feed-app', textContent: app }),
      !excluded && item.title ? h('span', { className: 'feed-title', textContent: item.title, title: item.title }) : null),
    content(item));
}

let nodes = new Map();
let lastKeys = [];

/** Replaces the feed with `items` (oldest first, as Rust sends them). */
export function showFeed(items) {
  if (!Array.isArray(items)) return;
  const list = $('#feed');
  const keys = items.map(keyOf).reverse();
  $('#feed-empty').hidden = keys.length > 0;
  if (keys.length === lastKeys.length && keys.every((k, i) => k === lastKeys[i])) return;
  const next = new Map();
  const ordered = [];
  const newest = items.slice().reverse();
  keys.forEach((k, i) => {
    // Two identical items (rare) each need their own node.
    let node = nodes.get(k);
    if (!node || next.has(k)) node = build(newest[i]);
    if (!next.has(k)) next.set(k, node);
    ordered.push(node);
  });
  list.replaceChildren(...ordered);
  nodes = next;
  lastKeys = keys;
}
