// Small DOM helpers: element building with text only (never HTML strings), the toast, and
// buttons that are disabled while their command runs.

import { toError } from './api.js';

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/**
 * Builds an element. `props` sets properties (className, textContent, hidden…) except
 * `dataset`/`attrs`, which set data-* and other attributes; children are nodes or strings
 * (strings become text nodes).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === 'dataset') Object.entries(v).forEach(([dk, dv]) => { el.dataset[dk] = String(dv); });
    else if (k === 'attrs') Object.entries(v).forEach(([ak, av]) => el.setAttribute(ak, String(av)));
    else el[k] = v;
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let toastTimer = 0;

/** Shows a message in `#toast`; `kind` is 'ok', 'info' or 'error'. */
export function toast(message, kind = 'ok') {
  const el = $('#toast');
  el.textContent = message;
  el.className = `toast toast-${kind}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, kind === 'error' ? 9000 : 5000);
}

/** Shows a command error (`{ kind, message }`) as it is, styled as an error. */
export function toastError(e) {
  toast(toError(e).message, 'error');
}

/**
 * Runs `fn` with `button` disabled (and marked busy) until it settles. A second click while it
 * runs does nothing. Errors are shown in the toast and swallowed; returns fn's value or undefined.
 */
export async function busy(button, fn) {
  if (button.disabled) return undefined;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } catch (e) {
    toastError(e);
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** Sets a counter-like element: readable text plus the raw number in data-value. */
export function setValue(el, raw, text) {
  const v = String(raw);
  if (el.dataset.value !== v) el.dataset.value = v;
  if (el.textContent !== text) el.textContent = text;
}
