// How far a sync is, from the cursor the console reached and the platform's newest change.
import type { SyncProgress } from "./bindings/SyncProgress";

/** The fraction done (0..1), or null when the platform has no changes to measure against. */
export function syncFraction(p: SyncProgress | null, start = 0): number | null {
  if (!p || p.head <= start) return null;
  const done = (p.cursor - start) / (p.head - start);
  return Math.min(1, Math.max(0, done));
}

/** "1,200 of 4,800 changes" — what the bar says in words. */
export function syncWords(p: SyncProgress | null, start = 0): string {
  if (!p || p.head <= start) return "Syncing…";
  const done = Math.max(0, Math.min(p.cursor, p.head) - start);
  const total = p.head - start;
  return `Syncing · ${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} changes`;
}
