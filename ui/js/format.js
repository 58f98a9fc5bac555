// How numbers, durations and times read for people. Timestamps from Rust are microseconds since
// the Unix epoch (`Micros`).

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

const pad = (n) => String(n).padStart(2, '0');

/** 1234 → "1,234". */
export function count(n) {
  return integer.format(n);
}

/** "1 event", "2 events". */
export function plural(n, one, many = `${one}s`) {
  return `${count(n)} ${n === 1 ? one : many}`;
}

/** Pixels: "830 px", "12.3k px", "4.5M px". */
export function pixels(n) {
  if (n < 1000) return `${integer.format(n)} px`;
  if (n < 1_000_000) return `${oneDecimal.format(n / 1000)}k px`;
  return `${oneDecimal.format(n / 1_000_000)}M px`;
}

/** Seconds as a duration: "45s", "12m 05s", "1h 02m". */
export function duration(secs) {
  const s = Math.max(0, Math.floor(secs));
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h === 0) return `${m}m ${pad(s % 60)}s`;
  return `${h}h ${pad(m)}m`;
}

/** A countdown: "14:59", "59:00", "1:05:00". */
export function countdown(secs) {
  const s = Math.max(0, Math.ceil(secs));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export const microsToDate = (us) => new Date(Math.floor(us / 1000));

const sameDay = (a, b) =>
  a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

const ymd = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/** "14:05:02". */
export function clock(us) {
  const d = microsToDate(us);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "14:05" today, "2025-11-29 14:05" on another day (as the tray says it). */
export function shortTime(us) {
  const d = microsToDate(us);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return sameDay(d, new Date()) ? hm : `${ymd(d)} ${hm}`;
}

/** "14:05:02" today, "2025-11-29 14:05:02" on another day. */
export function logTime(us) {
  const d = microsToDate(us);
  return sameDay(d, new Date()) ? clock(us) : `${ymd(d)} ${clock(us)}`;
}

/** The value a `datetime-local` input takes: "2025-11-30T14:05". */
export function localInputValue(d) {
  return `${ymd(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "every event" → "Every event". */
export const capitalise = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);
