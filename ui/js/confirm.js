// The one confirmation dialog (#confirm-dialog): resolves true only for an explicit "yes".

import { $ } from './dom.js';

let pending = null;

function settle(answer) {
  const dialog = $('#confirm-dialog');
  if (dialog.open) dialog.close();
  if (pending) {
    const resolve = pending;
    pending = null;
    resolve(answer);
  }
}

export function initConfirm() {
  const dialog = $('#confirm-dialog');
  $('#confirm-yes').addEventListener('click', () => settle(true));
  $('#confirm-no').addEventListener('click', () => settle(false));
  // Escape closes a modal dialog: that is a "no".
  dialog.addEventListener('cancel', () => settle(false));
  dialog.addEventListener('close', () => settle(false));
}

/**
 * Asks; `yes`/`no` label the buttons. The "yes" button is red for what cannot be undone
 * (`danger`, the default) and plain primary otherwise. Resolves to true when the person confirmed.
 */
export function confirmDialog({ title, text, yes = 'Delete', no = 'Cancel', danger = true }) {
  if (pending) settle(false);
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-yes').textContent = yes;
  $('#confirm-yes').className = danger ? 'danger' : 'primary';
  $('#confirm-no').textContent = no;
  const dialog = $('#confirm-dialog');
  return new Promise((resolve) => {
    pending = resolve;
    dialog.showModal();
    $('#confirm-no').focus();
  });
}
