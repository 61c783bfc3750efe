// Heartbeat's time values: a number (a decimal point allowed), optionally
// followed by "ms" or "us"; a bare number is seconds. Rounded to the nearest
// millisecond, as Heartbeat does.

/** Milliseconds, or null when the text is not a time value. */
export function parseInterval(text: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ms|us|s)?$/.exec(text);
  if (!m) return null;
  const value = Number(m[1]);
  if (!Number.isFinite(value)) return null;
  const unit = m[2] ?? "s";
  const ms = unit === "ms" ? value : unit === "us" ? value / 1000 : value * 1000;
  return Math.round(ms);
}

/** "1500ms" → "1.5 s", for messages. */
export function formatInterval(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
