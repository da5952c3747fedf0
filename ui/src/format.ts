// How the UI words times and data ages.

import type { DataAge } from "./bindings/DataAge";

function two(n: number): string {
  return n.toString().padStart(2, "0");
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "10:42" today, "21 Nov 10:42" on another day (local time). */
export function clockTime(at: Date, now: Date): string {
  const hm = `${two(at.getHours())}:${two(at.getMinutes())}`;
  const sameDay =
    at.getFullYear() === now.getFullYear() &&
    at.getMonth() === now.getMonth() &&
    at.getDate() === now.getDate();
  return sameDay ? hm : `${at.getDate()} ${MONTHS[at.getMonth()] ?? ""} ${hm}`;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago". */
export function ago(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** The data age line every view shows: "as of 10:42, 3 h ago — offline". */
export function formatDataAge(age: DataAge, now: Date): string {
  const state = age.online ? "online" : "offline";
  if (age.synced_at === null) return `never synced — ${state}`;
  const at = new Date(age.synced_at);
  return `as of ${clockTime(at, now)}, ${ago(now.getTime() - at.getTime())} — ${state}`;
}

/** The outbox counts for the header, or null when there is nothing queued. */
export function formatQueue(age: DataAge): string | null {
  const parts: string[] = [];
  if (age.pending > 0) parts.push(`${age.pending} queued`);
  if (age.conflicts > 0) parts.push(`${age.conflicts} ${age.conflicts === 1 ? "conflict" : "conflicts"}`);
  return parts.length > 0 ? parts.join(", ") : null;
}

/** Data older than this is called stale in the header. */
export const STALE_MS = 60 * 60 * 1000;

export function isStale(age: DataAge, now: Date): boolean {
  return age.synced_at === null || now.getTime() - age.synced_at > STALE_MS;
}
