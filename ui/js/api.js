// The one door to the Rust side: commands through `invoke`, pushed events through `listen`.
// Every failure is turned into `{ kind, message }` so callers can show the message as it is.

const tauri = window.__TAURI__;

/** The event names Rust pushes (src-tauri/app/events.rs). */
export const EVENTS = Object.freeze({
  status: 'status',
  feed: 'feed',
  counters: 'counters',
  dataChanged: 'data-changed',
  connection: 'connection',
  uploads: 'uploads',
});

/** Normalises whatever a rejected command gives into `{ kind, message }`. */
export function toError(e) {
  if (e && typeof e === 'object' && typeof e.message === 'string') {
    return { kind: typeof e.kind === 'string' ? e.kind : 'internal', message: e.message };
  }
  if (typeof e === 'string' && e.length > 0) {
    return { kind: 'internal', message: e };
  }
  return { kind: 'internal', message: 'Something went wrong, and the app gave no reason.' };
}

/** Calls a command; rejects with `{ kind, message }`. */
export async function call(command, args) {
  if (!tauri || !tauri.core) {
    throw { kind: 'internal', message: 'This page must be opened by the Glasshouse app.' };
  }
  try {
    return await tauri.core.invoke(command, args);
  } catch (e) {
    throw toError(e);
  }
}

/** Listens to a pushed event; the handler receives the payload. */
export function on(event, handler) {
  if (!tauri || !tauri.event) return Promise.resolve(() => {});
  return tauri.event.listen(event, (e) => handler(e.payload));
}
