// The passphrase window: choose a passphrase (first start without a desktop keyring) or type it
// to unlock the encrypted recordings. The answer goes to the tray app, which checks it; a wrong
// one opens this window again with the reason.

import { call } from './api.js';

const $ = (id) => document.getElementById(id);

function showError(message, field) {
  const box = $('unlock-error');
  box.textContent = message;
  box.hidden = !message;
  for (const id of ['unlock-passphrase', 'unlock-confirm']) {
    $(id).setAttribute('aria-invalid', String(id === field));
  }
  if (field) $(field).focus();
}

async function start() {
  let ctx;
  try {
    ctx = await call('unlock_context');
  } catch (e) {
    showError(e.message);
    return;
  }
  const form = $('unlock-form');
  const submit = $('unlock-submit');
  if (ctx.first_run) {
    $('unlock-title').textContent = 'Choose a passphrase';
    $('unlock-intro').textContent =
      'Glasshouse keeps what it records encrypted on this computer. There is no desktop keyring ' +
      'here to hold the key, so the key comes from a passphrase you choose. You type it each ' +
      'time Glasshouse starts.';
    $('unlock-note').textContent =
      `At least ${ctx.min_chars} characters. Nobody can recover it, your employer included: ` +
      'if you forget it, what was recorded cannot be read.';
    $('unlock-note').hidden = false;
    $('unlock-confirm-field').hidden = false;
    submit.textContent = 'Encrypt and start';
  } else {
    $('unlock-intro').textContent =
      `Your recordings in ${ctx.data_dir} are encrypted. Type your passphrase to open them and ` +
      'start recording.';
  }
  if (ctx.error) showError(ctx.error, 'unlock-passphrase');
  $('unlock-passphrase').focus();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const passphrase = $('unlock-passphrase').value;
    if (passphrase.length === 0) {
      showError('Type your passphrase.', 'unlock-passphrase');
      return;
    }
    if (ctx.first_run) {
      if ([...passphrase].length < ctx.min_chars) {
        showError(`A passphrase needs at least ${ctx.min_chars} characters.`, 'unlock-passphrase');
        return;
      }
      if ($('unlock-confirm').value !== passphrase) {
        showError('The two passphrases are not the same.', 'unlock-confirm');
        return;
      }
    }
    showError('');
    submit.disabled = true;
    submit.textContent = ctx.first_run ? 'Encrypting…' : 'Unlocking…';
    try {
      await call('unlock_submit', { passphrase });
    } catch (e) {
      submit.disabled = false;
      submit.textContent = ctx.first_run ? 'Encrypt and start' : 'Unlock';
      showError(e.message);
    }
  });
}

start();
