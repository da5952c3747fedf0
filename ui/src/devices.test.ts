import { describe, expect, it } from "vitest";
import type { DataAge } from "./bindings/DataAge";
import type { DeviceView } from "./bindings/DeviceView";
import type { GroupRollup } from "./bindings/GroupRollup";
import type { LiveStatus } from "./bindings/LiveStatus";
import {
  chipRollups,
  filterDevices,
  liveHeader,
  NO_FILTER,
  nodeOptionLabel,
  notLiveReason,
  presenceWord,
  rollupText,
  rollupTone,
  when,
} from "./devices";

const device = (over: Partial<DeviceView>): DeviceView => ({
  id: 1,
  name: "Pump P-101",
  kind: "pump",
  path: "North site › Line 2",
  nodes: [2, 1],
  groups: [10],
  group_names: ["Cooling pumps"],
  online: true,
  since: null,
  last_seen: null,
  flaps_last_hour: 0,
  ...over,
});

const devices = [
  device({}),
  device({ id: 2, name: "PLC Line 1", kind: "plc", path: "North site › Line 1", nodes: [3, 1], groups: [], group_names: [], online: false }),
  device({ id: 3, name: "Vibration sensor", kind: "sensor", path: "", nodes: [], groups: [10, 11], group_names: ["Cooling pumps", "Spares"], online: null }),
];

const ids = (list: DeviceView[]) => list.map((d) => d.id);

describe("filterDevices", () => {
  it("keeps everything without a filter", () => {
    expect(ids(filterDevices(devices, NO_FILTER))).toEqual([1, 2, 3]);
  });

  it("matches every word in name, kind, path or group names, ignoring case", () => {
    expect(ids(filterDevices(devices, { ...NO_FILTER, text: "pump" }))).toEqual([1, 3]);
    expect(ids(filterDevices(devices, { ...NO_FILTER, text: "plc north" }))).toEqual([2]);
    expect(ids(filterDevices(devices, { ...NO_FILTER, text: "  SPARES " }))).toEqual([3]);
    expect(ids(filterDevices(devices, { ...NO_FILTER, text: "pump plc" }))).toEqual([]);
  });

  it("filters by logical group and by a hierarchy node's whole subtree", () => {
    expect(ids(filterDevices(devices, { ...NO_FILTER, group: 11 }))).toEqual([3]);
    expect(ids(filterDevices(devices, { ...NO_FILTER, node: 1 }))).toEqual([1, 2]);
    expect(ids(filterDevices(devices, { ...NO_FILTER, node: 3 }))).toEqual([2]);
    expect(ids(filterDevices(devices, { ...NO_FILTER, node: 1, group: 10 }))).toEqual([1]);
  });

  it("filters by presence, counting never seen as offline", () => {
    expect(ids(filterDevices(devices, { ...NO_FILTER, presence: "online" }))).toEqual([1]);
    expect(ids(filterDevices(devices, { ...NO_FILTER, presence: "offline" }))).toEqual([2, 3]);
  });
});

const rollup = (over: Partial<GroupRollup>): GroupRollup => ({
  kind: "logical",
  id: 1,
  name: "Cooling pumps",
  path: "Cooling pumps",
  depth: 0,
  online: 0,
  total: 0,
  ...over,
});

describe("roll-ups", () => {
  it("read n online / total", () => {
    expect(rollupText({ online: 12, total: 40 })).toBe("12 online / 40");
    expect(rollupText({ online: 0, total: 0 })).toBe("0 online / 0");
  });

  it("are toned by how many are online", () => {
    expect(rollupTone({ online: 3, total: 3 })).toBe("all");
    expect(rollupTone({ online: 1, total: 3 })).toBe("some");
    expect(rollupTone({ online: 0, total: 3 })).toBe("none");
    expect(rollupTone({ online: 0, total: 0 })).toBe("empty");
  });

  it("chip every logical group and the non-empty upper levels of the tree", () => {
    const rollups = [
      rollup({ id: 1 }),
      rollup({ kind: "hierarchy", id: 2, name: "Site", depth: 0, total: 5 }),
      rollup({ kind: "hierarchy", id: 3, name: "Area", depth: 1, total: 5 }),
      rollup({ kind: "hierarchy", id: 4, name: "Line", depth: 2, total: 5 }),
      rollup({ kind: "hierarchy", id: 5, name: "Empty", depth: 0, total: 0 }),
    ];
    expect(chipRollups(rollups).map((r) => r.id)).toEqual([1, 2, 3]);
  });

  it("indent hierarchy options by depth", () => {
    expect(nodeOptionLabel(rollup({ kind: "hierarchy", name: "Line 2", depth: 2, online: 1, total: 4 }))).toBe(
      "\u2003\u2003Line 2 (1 online / 4)",
    );
  });
});

describe("presence wording", () => {
  const now = new Date(2026, 10, 23, 13, 50);

  it("names the state and when it began", () => {
    expect(presenceWord(device({ online: true }))).toBe("online");
    expect(presenceWord(device({ online: false }))).toBe("offline");
    expect(presenceWord(device({ online: null }))).toBe("never seen");
    expect(when(new Date(2026, 10, 23, 13, 45).getTime(), now)).toBe("13:45 · 5 min ago");
    expect(when(null, now)).toBe("");
  });

  const status = (over: Partial<LiveStatus>): LiveStatus => ({
    state: "not_live",
    code: null,
    message: null,
    since: 0,
    ...over,
  });
  const age: DataAge = { synced_at: new Date(2026, 10, 23, 10, 42).getTime(), online: false, pending: 0, conflicts: 0 };

  it("says live, or as of when and why not", () => {
    expect(liveHeader(status({ state: "live" }), age, now)).toEqual({ live: true, text: "Live presence" });
    expect(liveHeader(status({ code: "no_broker" }), age, now)).toEqual({
      live: false,
      text: "Presence as of 10:42, 3 h ago — not live: this platform runs without a broker",
    });
    expect(liveHeader(status({ code: "offline" }), { ...age, synced_at: null }, now).text).toBe(
      "Presence never synced — not live: the platform cannot be reached",
    );
  });

  it("branches on the code and falls back to the message", () => {
    expect(notLiveReason(status({ state: "connecting" }))).toBe("connecting to the broker");
    expect(notLiveReason(status({ code: "broker_unreachable", message: "x" }))).toBe("the broker does not answer");
    expect(notLiveReason(status({ code: "something_new", message: "It broke." }))).toBe("It broke.");
  });
});
