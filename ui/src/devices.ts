// The Devices view's logic: filtering, roll-up chips, presence and "live / as of" wording.

import type { DataAge } from "./bindings/DataAge";
import type { DeviceView } from "./bindings/DeviceView";
import type { GroupRollup } from "./bindings/GroupRollup";
import type { LiveStatus } from "./bindings/LiveStatus";
import { ago, clockTime } from "./format";

export type PresenceFilter = "all" | "online" | "offline";

export interface DeviceFilter {
  /** Words that must all appear in the name, kind, hierarchy path or a logical group's name. */
  text: string;
  /** A logical group's id, or null for every device. */
  group: number | null;
  /** A hierarchy node's id (its whole subtree), or null for every device. */
  node: number | null;
  presence: PresenceFilter;
}

export const NO_FILTER: DeviceFilter = { text: "", group: null, node: null, presence: "all" };

function haystack(d: DeviceView): string {
  return [d.name, d.kind, d.path, ...d.group_names].join("\n").toLowerCase();
}

export function filterDevices(devices: readonly DeviceView[], filter: DeviceFilter): DeviceView[] {
  const words = filter.text.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
  return devices.filter((d) => {
    if (filter.group !== null && !d.groups.includes(filter.group)) return false;
    if (filter.node !== null && !d.nodes.includes(filter.node)) return false;
    if (filter.presence === "online" && d.online !== true) return false;
    // Never seen counts as offline: it is not connected.
    if (filter.presence === "offline" && d.online === true) return false;
    if (words.length === 0) return true;
    const text = haystack(d);
    return words.every((w) => text.includes(w));
  });
}

/** "12 online / 40". */
export function rollupText(r: { online: number; total: number }): string {
  return `${r.online} online / ${r.total}`;
}

/** How a roll-up chip is coloured: every device online, some, none, or an empty group. */
export function rollupTone(r: { online: number; total: number }): "all" | "some" | "none" | "empty" {
  if (r.total === 0) return "empty";
  if (r.online === r.total) return "all";
  if (r.online === 0) return "none";
  return "some";
}

/** The chips shown above the table: every logical group, and the upper levels of the tree
 *  (deeper nodes stay in the hierarchy filter). */
export function chipRollups(rollups: readonly GroupRollup[], maxDepth = 1): GroupRollup[] {
  return rollups.filter((r) => r.kind === "logical" || (r.depth <= maxDepth && r.total > 0));
}

/** The hierarchy filter's option label, indented by depth. */
export function nodeOptionLabel(r: GroupRollup): string {
  return `${"\u2003".repeat(r.depth)}${r.name} (${rollupText(r)})`;
}

export function presenceWord(d: DeviceView): "online" | "offline" | "never seen" {
  if (d.online === null) return "never seen";
  return d.online ? "online" : "offline";
}

/** "10:42 · 5 min ago", or an empty string when unknown. */
export function when(at: number | null, now: Date): string {
  if (at === null) return "";
  return `${clockTime(new Date(at), now)} · ${ago(now.getTime() - at)}`;
}

/** Why presence is not live, for people; branches on the code, never the message. */
export function notLiveReason(live: LiveStatus): string {
  switch (live.state) {
    case "idle":
    case "connecting":
      return "connecting to the broker";
    case "live":
      return "";
    case "not_live":
      break;
  }
  switch (live.code) {
    case "no_broker":
      return "this platform runs without a broker";
    case "offline":
      return "the platform cannot be reached";
    case "broker_unreachable":
      return "the broker does not answer";
    case "presence_not_allowed":
    case "forbidden":
      return "your role may not listen to presence";
    case "session_expired":
    case "unauthenticated":
      return "your session has ended; sign in again";
    case "insecure_broker_url":
      return "the broker is on another machine without TLS";
    case "broker_tls_unsupported":
      return "the broker needs TLS, which this console does not speak";
    default:
      return live.message ?? "the broker connection failed";
  }
}

export interface LiveHeader {
  live: boolean;
  /** "Live" or "Presence as of 10:42, 3 h ago (cached) — not live: the platform cannot be reached". */
  text: string;
}

export function liveHeader(live: LiveStatus, age: DataAge, now: Date): LiveHeader {
  if (live.state === "live") return { live: true, text: "Live presence" };
  const asOf =
    age.synced_at === null
      ? "Presence never synced"
      : `Presence as of ${clockTime(new Date(age.synced_at), now)}, ${ago(now.getTime() - age.synced_at)}`;
  return { live: false, text: `${asOf} — not live: ${notLiveReason(live)}` };
}
