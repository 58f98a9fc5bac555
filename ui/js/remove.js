// Deleting, shared by the Delete view and the exclusion offer: preview → confirm → delete →
// say what went.

import { call } from './api.js';
import { toast } from './dom.js';
import { count, plural } from './format.js';
import { confirmDialog } from './confirm.js';

/** The confirmation sentence for a preview. */
export function confirmText(preview) {
  const what = `Delete ${preview.description}?`;
  if (preview.events === 0) return `${what} Nothing is stored there, so nothing will be deleted.`;
  const n = preview.events === 1 ? '1 event' : `${count(preview.events)} events`;
  return `${what} ${n} will be deleted from this computer for good.`;
}

/**
 * Previews `input` (a DeleteInput), asks, deletes. Resolves to the DeleteReport, or null when the
 * person said no. Rejects with `{ kind, message }`. `after` runs after a successful delete.
 */
export async function previewAndDelete(input, { title = 'Delete for good?', text, no = 'Cancel', after } = {}) {
  const preview = await call('delete_preview', { input });
  const ok = await confirmDialog({
    title,
    text: text ? text(preview) : confirmText(preview),
    yes: preview.events === 0 ? 'Delete anyway' : `Delete ${plural(preview.events, 'event')}`,
    no,
  });
  if (!ok) {
    toast('Nothing was deleted.', 'info');
    return null;
  }
  const report = await call('delete', { input });
  toast(`Deleted ${plural(report.events, 'event')}.`);
  if (after) after(report);
  return report;
}

