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

/** What one sync round did, as far as the views are concerned. */
export interface SyncRound {
  /** Queued changes were sent (accepted, conflicting or failed: the outbox changed either way). */
  replayed: boolean;
  /** Changes the pull applied to the cache; null when the pull failed. */
  applied: number | null;
  /** Whether the profile was online before the round. */
  wasOnline: boolean;
}

/** Whether the views' data may have changed, so every query is asked again. A round that
 *  changed nothing (the platform still down, or no new changes) refreshes only the session's
 *  status and age: asking every view again would re-read, say, the 1,000-row effective matrix
 *  for the same answer, a visible stall while scrolling. Coming back online counts as a change,
 *  since the online-only views answer differently then. */
export function syncChangedData(round: SyncRound): boolean {
  if (round.replayed) return true;
  if (round.applied === null) return false;
  return round.applied > 0 || !round.wasOnline;
}
