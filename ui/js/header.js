// The state header: what the recorder is doing, in words, colour and icon (as the tray shows
// it), the pause/resume buttons that apply, and a local countdown of a timed pause.

import { call } from './api.js';
import { $, busy, h, toast } from './dom.js';
import { countdown, shortTime } from './format.js';

let current = null;
let ticker = 0;
let endAskedAt = 0;

const els = () => ({
  box: $('#state'),
  label: $('#state-label'),
  detail: $('#state-detail'),
  countdown: $('#pause-countdown'),
  pause15: $('#btn-pause-15'),
  pause60: $('#btn-pause-60'),
  pause: $('#btn-pause'),
  resume: $('#btn-resume'),
});

/** The state in words, as the tray's tooltip says it. */
export function describe(status) {
  switch (status.state) {
    case 'recording':
      return 'Recording';
    case 'paused':
      if (status.pause_reason === 'screen_locked') return 'Paused: screen locked';
      return status.paused_until ? `Paused until ${shortTime(status.paused_until)}` : 'Paused until you resume';
    case 'unavailable':
      return `Capture unavailable: ${status.capture_error || 'unknown reason'}`;
    case 'disk_full':
      return 'Disk full: not recording';
    default:
      return 'Not recording';
  }
}

function detailOf(status) {
  switch (status.state) {
    case 'recording':
      return 'Your keyboard and mouse input is being stored on this computer.';
    case 'paused':
      if (status.pause_reason === 'screen_locked') {
        return status.paused_since
          ? 'Nothing is stored while the screen is locked, and your pause holds after it is unlocked.'
          : 'Nothing is stored while the screen is locked; recording resumes when it is unlocked.';
      }
      return status.capture_error
        ? `Nothing is stored while paused. Capture is also unavailable: ${status.capture_error}`
        : 'Nothing is stored while paused.';
    case 'unavailable':
      return 'Nothing is being stored. Glasshouse keeps trying and tells you when capture is back.';
    case 'disk_full': {
      const waiting = status.events_waiting || 0;
      const dropped = status.events_dropped || 0;
      let text = `The disk holding your data is full, so nothing can be written. ${waiting.toLocaleString()} events wait in memory; they are written, and recording goes on by itself, once you free some space.`;
      if (dropped > 0) text += ` ${dropped.toLocaleString()} events could not be kept and were dropped.`;
      return text;
    }
    default:
      return 'The recorder is not running.';
  }
}

function tick() {
  const e = els();
  const until = current && current.state === 'paused' ? current.paused_until : null;
  if (!until) {
    e.countdown.hidden = true;
    clearInterval(ticker);
    ticker = 0;
    return;
  }
  const left = (until / 1000 - Date.now()) / 1000;
  const text = `${countdown(left)} left`;
  if (e.countdown.textContent !== text) e.countdown.textContent = text;
  e.countdown.hidden = false;
  // Rust ends the pause and pushes a `status` event; ask once ourselves in case it was missed.
  if (left < -2 && Date.now() - endAskedAt > 5000) {
    endAskedAt = Date.now();
    call('status').then(showStatus, () => {});
  }
}

/** Shows a status (from the `status` command, the `status` event or a pause/resume answer). */
export function showStatus(status) {
  if (!status) return;
  current = status;
  const e = els();
  const state = status.state;
  e.box.dataset.state = state;
  document.body.dataset.state = state;
  const label = describe(status);
  if (e.label.textContent !== label) {
    // A capture error can be a long sentence: the words that matter stay big, the reason reads
    // as ordinary text. textContent is still the whole "Capture unavailable: <reason>".
    const cut = label.indexOf(': ');
    if (state === 'unavailable' && cut > 0) {
      e.label.replaceChildren(
        h('span', { textContent: label.slice(0, cut) }),
        h('span', { className: 'state-reason', textContent: label.slice(cut) }),
      );
    } else {
      e.label.textContent = label;
    }
  }
  e.detail.textContent = detailOf(status);
  const canPause = state === 'recording' || state === 'unavailable' || state === 'disk_full';
  e.pause15.hidden = !canPause;
  e.pause60.hidden = !canPause;
  e.pause.hidden = !canPause;
  e.resume.hidden = state !== 'paused';
  if (state === 'paused' && status.paused_until) {
    tick();
    if (!ticker) ticker = setInterval(tick, 1000);
  } else {
    tick();
  }
}

export function currentStatus() {
  return current;
}

export function initHeader() {
  const e = els();
  const pause = (button, minutes, words) =>
    busy(button, async () => {
      const s = await call('pause', minutes ? { minutes } : {});
      showStatus(s);
      toast(words);
    });
  e.pause15.addEventListener('click', () => pause(e.pause15, 15, 'Paused for 15 minutes.'));
  e.pause60.addEventListener('click', () => pause(e.pause60, 60, 'Paused for 1 hour.'));
  e.pause.addEventListener('click', () => pause(e.pause, null, 'Paused until you resume.'));
  e.resume.addEventListener('click', () =>
    busy(e.resume, async () => {
      showStatus(await call('resume'));
      toast('Recording again.');
    }),
  );
}
