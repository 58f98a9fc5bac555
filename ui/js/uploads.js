// The Uploads view: joining the team's collector, the choice to take part, and the review of
// each batch (the exact bytes as a readable document, what was scrubbed, its activity chart)
// before it is approved or rejected; uploaded batches can be withdrawn.

import { call } from './api.js';
import { $, $$, busy, h, toast, toastError } from './dom.js';
import { showSvg } from './charts.js';
import { confirmDialog } from './confirm.js';
import { count, logTime, plural, shortTime } from './format.js';

/** The readable document is shown up to this many characters until "Show all" is pressed. */
const DOCUMENT_PREVIEW = 200_000;

const STATE_WORDS = {
  pending: 'Waiting for review',
  approved: 'Approved, uploading',
  uploaded: 'Uploaded',
  rejected: 'Rejected',
  withdrawn: 'Withdrawn',
};

const SCRUB_WORDS = {
  email: ['email address', 'email addresses'],
  phone: ['phone number', 'phone numbers'],
  card: ['card number', 'card numbers'],
  iban: ['IBAN', 'IBANs'],
  national_id: ['national id', 'national ids'],
  ip_address: ['IP address', 'IP addresses'],
  url_credentials: ['password in a link', 'passwords in links'],
  secret: ['secret or token', 'secrets or tokens'],
};

let overview = null;
let openId = null;
let openView = null;
let onChange = () => {};

const wholeMinute = (us) => us % 60_000_000 === 0;

function windowText(b) {
  const fmt = wholeMinute(b.window_start) && wholeMinute(b.window_end) ? shortTime : logTime;
  const start = fmt(b.window_start);
  const end = fmt(b.window_end);
  const endTime = end.includes(' ') && start.split(' ')[0] === end.split(' ')[0] ? end.split(' ')[1] : end;
  return `${start} – ${endTime}`;
}

function scrubText(scrubbed) {
  const parts = Object.entries(scrubbed || {})
    .filter(([, n]) => n > 0)
    .map(([k, n]) => {
      const [one, many] = SCRUB_WORDS[k] || [k.replace(/_/g, ' '), `${k.replace(/_/g, ' ')}s`];
      return `${count(n)} ${n === 1 ? one : many}`;
    });
  return parts.length ? `Scrubbed: ${parts.join(', ')}` : 'Nothing needed scrubbing';
}

function sizeText(n) {
  if (n == null) return '';
  if (n < 1000) return plural(n, 'byte');
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} KB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}

/** The size fact: the rounded size, with the exact count when rounding hid it. */
function sizeFact(n) {
  const exact = n < 1000 ? '' : ` (${count(n)} bytes)`;
  return `${sizeText(n)}${exact}, zstd-compressed JSON`;
}

/** Charts are drawn in the page's colour scheme. */
const dark = window.matchMedia('(prefers-color-scheme: dark)');

function stateText(b) {
  if (b.state === 'uploaded' && b.withdraw_requested) return 'Withdrawal requested';
  if (b.state === 'approved' && b.attempts > 0) return 'Approved, retrying the upload';
  return STATE_WORDS[b.state] || b.state;
}

async function decide(button, op, { after } = {}) {
  return busy(button, async () => {
    const done = await call('uploads_decide', { op });
    toast(done.message, 'ok');
    await refreshUploads();
    if (after) await after(done);
    onChange();
    return done;
  });
}

function batchItem(b) {
  const apps = b.apps.length ? b.apps.join(', ') : 'no apps';
  const actions = [];
  const open = h('button', { type: 'button', className: 'batch-open', textContent: b.state === 'pending' ? 'Review' : 'Details' });
  open.addEventListener('click', () => openBatch(b.id));
  actions.push(open);
  if (b.state === 'pending') {
    const approve = h('button', { type: 'button', className: 'primary batch-approve', textContent: 'Approve' });
    approve.addEventListener('click', () => decide(approve, { op: 'approve', id: b.id, sha256: b.sha256 }));
    const reject = h('button', { type: 'button', className: 'danger-outline batch-reject', textContent: 'Reject' });
    reject.addEventListener('click', () => decide(reject, { op: 'reject', id: b.id }));
    actions.push(approve, reject);
  }
  if (b.state === 'uploaded' && !b.withdraw_requested) {
    const withdraw = h('button', { type: 'button', className: 'danger-outline batch-withdraw', textContent: 'Withdraw' });
    withdraw.addEventListener('click', () => withdrawBatch(withdraw, b));
    actions.push(withdraw);
  }
  const facts = [
    plural(b.events, 'event'),
    sizeText(b.bytes),
    scrubText(b.scrubbed),
  ].filter(Boolean).join(' · ');
  return h('li', { className: 'batch card', dataset: { id: b.id, state: b.state } },
    h('div', { className: 'batch-main' },
      h('p', { className: 'batch-window' },
        h('strong', { textContent: windowText(b) }),
        h('span', { className: `badge badge-batch badge-${b.state}`, textContent: stateText(b) })),
      h('p', { className: 'small', textContent: facts }),
      h('p', { className: 'muted small batch-apps', textContent: `Apps: ${apps}${b.dropped_apps.length ? ` (left out: ${b.dropped_apps.join(', ')})` : ''}` }),
      b.last_error ? h('p', { className: 'small batch-error', textContent: `Last try: ${b.last_error}` }) : null),
    h('div', { className: 'batch-actions' }, actions));
}

async function withdrawBatch(button, b) {
  const yes = await confirmDialog({
    title: 'Withdraw this batch?',
    text: `The collector will be asked to delete the batch ${windowText(b)} (${plural(b.events, 'event')}) and to confirm with a deletion receipt.`,
    yes: 'Withdraw',
  });
  if (!yes) return;
  await decide(button, { op: 'withdraw', id: b.id });
}

function showEnrollment(o) {
  const enrolled = Boolean(o.enrollment);
  $('#enroll-card').hidden = enrolled;
  $('#participation-card').hidden = !enrolled;
  if (enrolled) {
    const e = o.enrollment;
    $('#enrollment-line').textContent = `Enrolled in team “${e.team}” at ${e.collector}. This device is known there only as ${e.device_id}.`;
    $('#participate').checked = o.participating;
    $('#participate-state').textContent = o.participating
      ? `You take part. Batches of ${o.batch_minutes} minutes are offered here for review; only the ones you approve are sent.`
      : 'You do not take part: no batch is offered or sent.';
  }
  $('#uploads-review').hidden = !(enrolled && o.participating) && o.batches.length === 0;
}

function showLists(o) {
  const pending = o.batches.filter((b) => b.state === 'pending');
  const rest = o.batches.filter((b) => b.state !== 'pending');
  $('#pending-list').replaceChildren(...pending.map(batchItem));
  $('#pending-empty').hidden = pending.length > 0;
  $('#uploads-approve-all').disabled = pending.length === 0;
  $('#uploads-approve-all').textContent = pending.length > 1 ? `Approve all ${pending.length}` : 'Approve all';
  $('#uploads-seal').disabled = !o.participating;
  $('#done-list').replaceChildren(...rest.map(batchItem));
  $('#done-empty').hidden = rest.length > 0;
}

/** Shows the number waiting for review next to the nav entry. */
export function showPendingCount(n) {
  const el = $('#uploads-count');
  el.textContent = String(n);
  el.hidden = !(n > 0);
}

const WELCOME_KEY = 'glasshouse.welcome-dismissed';

function showWelcome(o) {
  let dismissed = false;
  try {
    dismissed = window.localStorage.getItem(WELCOME_KEY) === '1';
  } catch {
    dismissed = false;
  }
  $('#welcome').hidden = dismissed || Boolean(o.enrollment);
}

export async function refreshUploads() {
  try {
    overview = await call('uploads');
    showWelcome(overview);
    showEnrollment(overview);
    showLists(overview);
    showPendingCount(overview.pending);
    if (openId !== null) {
      if (overview.batches.some((b) => b.id === openId)) await openBatch(openId, { quiet: true });
      else closeBatch();
    }
  } catch (e) {
    toastError(e);
  }
}

function fact(name, value, mono = false) {
  return [h('dt', { textContent: name }), h('dd', { className: mono ? 'mono' : '', textContent: value })];
}

/** An RFC 3339 time from the collector, as the rest of the view shows times. */
function receiptTime(text) {
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? logTime(ms * 1000) : String(text);
}

/**
 * A collector's receipt: a sentence saying what it confirms and whether its SHA-256 is this
 * batch's, then the receipt itself as it came, folded away.
 */
function receiptFact(name, receipt, sha256, lead, open) {
  const parts = [lead(receipt)];
  if (receipt.sha256) {
    parts.push(receipt.sha256 === sha256 ? 'SHA-256 matches this batch' : 'SHA-256 does not match this batch');
  }
  const raw = h('details', { className: 'receipt', open: open.has(name), dataset: { name } },
    h('summary', { textContent: 'The receipt as the collector sent it' }),
    h('pre', { className: 'mono receipt-raw', textContent: JSON.stringify(receipt, null, 2) }));
  return [
    h('dt', { textContent: name }),
    h('dd', {},
      h('span', { className: receipt.sha256 && receipt.sha256 !== sha256 ? 'receipt-mismatch' : '', textContent: parts.join(' · ') }),
      raw),
  ];
}

function showDocument(text, all = false) {
  const pre = $('#batch-document');
  const more = $('#batch-document-more');
  if (!text) {
    pre.textContent = 'This device keeps no copy of this batch’s bytes any more.';
    more.hidden = true;
    return;
  }
  const cut = !all && text.length > DOCUMENT_PREVIEW;
  pre.textContent = cut ? `${text.slice(0, DOCUMENT_PREVIEW)}\n…` : text;
  more.hidden = !cut;
  more.textContent = `Show all ${count(text.length)} characters`;
}

async function openBatch(id, { quiet = false } = {}) {
  try {
    const { view, chart } = await call('upload_batch', { id, dark: dark.matches });
    openId = id;
    openView = view;
    const b = view.summary;
    $('#batch-detail').hidden = false;
    $('#batch-detail').dataset.state = b.state;
    $('#batch-detail').dataset.id = String(b.id);
    $('#batch-title').textContent = `Batch ${windowText(b)}`;
    $('#batch-state').textContent = stateText(b);
    const pending = b.state === 'pending';
    showSvg($('#batch-chart'), chart, 'Activity in this batch');
    // A receipt someone unfolded stays unfolded when the view refreshes.
    const unfolded = new Set($$('#batch-facts details[open]').map((d) => d.dataset.name));
    $('#batch-facts').replaceChildren(
      ...fact('Events', count(b.events)),
      ...fact('Scrubbed', scrubText(b.scrubbed).replace(/^Scrubbed: /, '')),
      ...(b.bytes != null ? fact('Size', sizeFact(b.bytes)) : []),
      ...(b.sha256 ? fact('SHA-256', b.sha256, true) : []),
      ...(view.head_hex ? fact('First bytes', view.head_hex.replace(/(..)/g, '$1 ').trim(), true) : []),
      ...(b.receipt ? receiptFact('Upload receipt', b.receipt, b.sha256, (r) => (r.received_at ? `Received ${receiptTime(r.received_at)}` : 'Received'), unfolded) : []),
      ...(b.withdrawal ? receiptFact('Deletion receipt', b.withdrawal, b.sha256, (r) => (r.deleted_at ? `Deleted ${receiptTime(r.deleted_at)}` : 'Deleted'), unfolded) : []),
    );
    // Before approval the document is what would be sent; after, what was (or was to be) sent.
    $('.batch-document-heading').textContent = pending ? 'Exactly what would be sent' : 'Exactly what was approved to be sent';
    $('#batch-apps').replaceChildren(
      ...view.window_apps.map((app) => {
        const dropped = b.dropped_apps.some((d) => d.toLowerCase() === app.toLowerCase());
        const toggle = h('button', {
          type: 'button',
          className: 'chip-action',
          textContent: dropped ? 'Put back' : 'Leave out',
          disabled: !pending,
        });
        toggle.addEventListener('click', () => decide(toggle, { op: 'drop_app', id: b.id, app, dropped: !dropped }));
        return h('li', { className: `chip${dropped ? ' chip-dropped' : ''}`, dataset: { app } },
          h('span', { textContent: app === '(excluded app)' ? 'time in excluded apps' : app }),
          pending ? toggle : null);
      }),
    );
    showDocument(view.readable);
    $('#batch-approve').hidden = !pending;
    // With every app left out there is nothing to send: such a batch can only be rejected.
    const empty = pending && b.events === 0;
    $('#batch-approve').disabled = empty;
    $('#batch-approve').title = empty ? 'Every app is left out, so there is nothing to send. Put one back, or reject the batch.' : '';
    $('#batch-reject').hidden = !(pending || b.state === 'approved');
    $('#batch-withdraw').hidden = !(b.state === 'uploaded' && !b.withdraw_requested);
    if (!quiet) $('#batch-detail').scrollIntoView({ block: 'start', behavior: 'smooth' });
  } catch (e) {
    toastError(e);
  }
}

function closeBatch() {
  openId = null;
  openView = null;
  $('#batch-detail').hidden = true;
}

async function enroll(e) {
  e.preventDefault();
  const collector = $('#enroll-collector').value.trim();
  const token = $('#enroll-token').value.trim();
  if (!collector || !token) {
    toast('Enter the collector address and the team token you were given.', 'error');
    return;
  }
  await decide($('#enroll-submit'), { op: 'enroll', collector, token }, {
    after: () => { $('#enroll-token').value = ''; },
  });
}

async function participate(e) {
  const box = e.currentTarget;
  const want = box.checked;
  box.checked = !want;
  if (want) {
    const yes = await confirmDialog({
      title: 'Take part in uploads?',
      text: 'The collector will learn that this device takes part: yes or no, nothing else. '
        + 'Batches of your input will then be offered here; nothing is sent unless you approve that exact batch.',
      yes: 'Take part',
      danger: false,
    });
    if (!yes) return;
  } else {
    const yes = await confirmDialog({
      title: 'Stop taking part?',
      text: 'No batch will be offered or sent any more, and batches not yet sent are removed. The collector will learn that this device no longer takes part.',
      yes: 'Stop taking part',
    });
    if (!yes) return;
  }
  await decide(box, { op: 'participate', participating: want });
}

export function initUploads({ changed, show } = {}) {
  onChange = changed || (() => {});
  $('#welcome-dismiss').addEventListener('click', () => {
    try {
      window.localStorage.setItem(WELCOME_KEY, '1');
    } catch {
      // Without storage the card comes back next time; nothing else depends on it.
    }
    $('#welcome').hidden = true;
  });
  $('#welcome-uploads').addEventListener('click', () => {
    if (show) show('uploads');
    $('#enroll-collector').focus();
  });
  $('#enroll-form').addEventListener('submit', enroll);
  $('#participate').addEventListener('change', participate);
  $('#uploads-approve-all').addEventListener('click', async (e) => {
    const button = e.currentTarget;
    const n = overview ? overview.pending : 0;
    const yes = await confirmDialog({
      title: `Approve ${plural(n, 'batch', 'batches')}?`,
      text: 'Each batch waiting for review is approved as it is now and uploaded in the background. You can withdraw a batch after it was sent.',
      yes: 'Approve all',
      danger: false,
    });
    if (yes) await decide(button, { op: 'approve_all' });
  });
  $('#uploads-seal').addEventListener('click', (e) => decide(e.currentTarget, { op: 'seal' }));
  $('#batch-close').addEventListener('click', closeBatch);
  $('#batch-approve').addEventListener('click', (e) => {
    if (openView) decide(e.currentTarget, { op: 'approve', id: openView.summary.id, sha256: openView.summary.sha256 });
  });
  $('#batch-reject').addEventListener('click', (e) => {
    if (openView) decide(e.currentTarget, { op: 'reject', id: openView.summary.id });
  });
  $('#batch-withdraw').addEventListener('click', (e) => {
    if (openView) withdrawBatch(e.currentTarget, openView.summary);
  });
  $('#batch-document-more').addEventListener('click', () => {
    if (openView) showDocument(openView.readable, true);
  });
}
