import { describe, expect, it } from "vitest";
import type { AlertHistoryRow } from "./bindings/AlertHistoryRow";
import type { AlertRuleView } from "./bindings/AlertRuleView";
import type { GroupRollup } from "./bindings/GroupRollup";
import {
  alertsLiveWords,
  appendPage,
  bumpOpen,
  clearedWords,
  conditionWords,
  draftOf,
  durationWords,
  editOf,
  EMPTY_FORM,
  formOf,
  NO_HISTORY,
  openWords,
  prependLive,
  targetOptions,
  targetWords,
} from "./alerts";

const targets: GroupRollup[] = [
  { kind: "logical", id: 10, name: "Cooling pumps", path: "Cooling pumps", depth: 0, online: 0, total: 2 },
  { kind: "hierarchy", id: 1, name: "North site", path: "North site", depth: 0, online: 0, total: 2 },
  { kind: "hierarchy", id: 2, name: "Line 2", path: "North site › Line 2", depth: 1, online: 0, total: 1 },
];

const rule = (over: Partial<AlertRuleView>): AlertRuleView => ({
  id: 1,
  name: "Overheating",
  condition: { kind: "above", field: "temp", value: 79.9 },
  target: { logical_group: null, node: null, name: null },
  enabled: true,
  version: 3,
  open_alerts: null,
  ...over,
});

const row = (id: number, cleared_at: number | null = null): AlertHistoryRow => ({
  id,
  rule: 1,
  rule_name: "Overheating",
  device: 5,
  device_name: "Pump P-101",
  fired_at: 1000 + id,
  cleared_at,
  reason: "temp = 80.1",
  message: "Overheating: Pump P-101 reports temp = 80.1, above 79.9",
});

describe("rules in words", () => {
  it("says conditions as people would", () => {
    expect(conditionWords({ kind: "above", field: "motor.temp", value: 79.9 })).toBe("motor.temp above 79.9");
    expect(conditionWords({ kind: "below", field: "pressure", value: -1.5 })).toBe("pressure below -1.5");
    expect(conditionWords({ kind: "offline", seconds: 120 })).toBe("offline for more than 2 min");
    expect(conditionWords({ kind: "offline", seconds: 90 })).toBe("offline for more than 90 s");
  });

  it("picks the largest exact unit for durations", () => {
    expect(durationWords(45)).toBe("45 s");
    expect(durationWords(60)).toBe("1 min");
    expect(durationWords(3600)).toBe("1 h");
    expect(durationWords(5400)).toBe("1 h 30 min");
    expect(durationWords(2 * 86_400)).toBe("2 d");
  });

  it("names targets, with an id when the name is not known", () => {
    expect(targetWords({ logical_group: null, node: null, name: null })).toBe("All devices");
    expect(targetWords({ logical_group: 10, node: null, name: "Cooling pumps" })).toBe("Group Cooling pumps");
    expect(targetWords({ logical_group: 10, node: null, name: null })).toBe("Group #10");
    expect(targetWords({ logical_group: null, node: 2, name: "North site › Line 2" })).toBe(
      "North site › Line 2 and below",
    );
    expect(targetWords({ logical_group: null, node: 7, name: null })).toBe("Hierarchy node #7 and below");
  });

  it("counts open alerts, and says when older ones may be missing", () => {
    expect(openWords(rule({ open_alerts: null }), false)).toBe("");
    expect(openWords(rule({ open_alerts: 0 }), false)).toBe("none open");
    expect(openWords(rule({ open_alerts: 2 }), false)).toBe("2 open");
    expect(openWords(rule({ open_alerts: 2 }), true)).toBe("2+ open");
  });
});

describe("the rule form", () => {
  it("turns a threshold form into a rule", () => {
    const draft = draftOf(
      { ...EMPTY_FORM, name: " Hot pumps ", field: " motor.temp ", threshold: "85.5", target: "group:10" },
      targets,
    );
    expect(draft).toEqual({
      name: "Hot pumps",
      condition: { kind: "above", field: "motor.temp", value: 85.5 },
      target: { logical_group: 10, node: null, name: "Cooling pumps" },
      enabled: true,
    });
  });

  it("turns an offline form into seconds and a subtree target", () => {
    const draft = draftOf({ ...EMPTY_FORM, name: "Away", kind: "offline", duration: "3", unit: "min", target: "node:2" }, targets);
    expect(draft).toMatchObject({
      condition: { kind: "offline", seconds: 180 },
      target: { logical_group: null, node: 2, name: "North site › Line 2" },
    });
  });

  it("says what to fix before asking the platform", () => {
    expect(draftOf({ ...EMPTY_FORM, name: " " }, targets)).toBe("Give the rule a name.");
    expect(draftOf({ ...EMPTY_FORM, name: "x", field: "temp", threshold: "hot" }, targets)).toBe(
      "The threshold must be a number.",
    );
    expect(draftOf({ ...EMPTY_FORM, name: "x", threshold: "1" }, targets)).toMatch(/telemetry field/);
    expect(draftOf({ ...EMPTY_FORM, name: "x", kind: "offline", duration: "1.5" }, targets)).toMatch(/whole number/);
    expect(draftOf({ ...EMPTY_FORM, name: "x", kind: "offline", duration: "0" }, targets)).toMatch(/whole number/);
  });

  it("edits send only what changed", () => {
    const r = rule({});
    const same = draftOf(formOf(r), targets);
    if (typeof same === "string") throw new Error(same);
    expect(editOf(r, same)).toBeNull();
    const off = draftOf({ ...formOf(r), enabled: false, threshold: "81" }, targets);
    if (typeof off === "string") throw new Error(off);
    expect(editOf(r, off)).toEqual({
      name: null,
      condition: { kind: "above", field: "temp", value: 81 },
      target: null,
      enabled: false,
    });
  });

  it("opens an offline rule in its largest exact unit", () => {
    const form = formOf(rule({ condition: { kind: "offline", seconds: 7200 }, target: { logical_group: null, node: 2, name: null } }));
    expect(form).toMatchObject({ kind: "offline", duration: "2", unit: "h", target: "node:2" });
  });

  it("offers groups, then the tree indented", () => {
    const options = targetOptions(targets);
    expect(options.groups).toEqual([{ value: "group:10", label: "Cooling pumps" }]);
    expect(options.nodes.map((o) => o.value)).toEqual(["node:1", "node:2"]);
    expect(options.nodes[1]?.label).toBe("\u2003Line 2");
  });
});

describe("history paging", () => {
  it("appends older pages newest first and keeps the cursor of the last page", () => {
    const first = appendPage(NO_HISTORY, { rows: [row(9), row(8)], next_before: 8 });
    expect(first.before).toBe(8);
    // An alert fired meanwhile shifts the platform's page: the repeated row is kept once.
    const second = appendPage(first, { rows: [row(8), row(7)], next_before: null });
    expect(second.rows.map((r) => r.id)).toEqual([9, 8, 7]);
    expect(second.before).toBeNull();
  });

  it("says open or when it cleared", () => {
    expect(clearedWords(row(1), () => "x")).toBe("open");
    expect(clearedWords(row(1, 5000), (ms) => `at ${ms}`)).toBe("at 5000");
  });
});

describe("live alerts", () => {
  const live = (over: Partial<AlertHistoryRow>): AlertHistoryRow => ({ ...row(20), ...over });

  it("prepends a live alert the filters show, once, keeping the paging cursor", () => {
    const state = { rows: [row(9), row(8)], before: 8 };
    const all = { rule: null, device: null };
    const next = prependLive(state, live({}), all);
    expect(next.rows.map((r) => r.id)).toEqual([20, 9, 8]);
    expect(next.before).toBe(8);
    expect(prependLive(next, live({}), all)).toBe(next);
    // Filtered by another rule or device: not shown.
    expect(prependLive(state, live({ rule: 2 }), { rule: 1, device: null })).toBe(state);
    expect(prependLive(state, live({}), { rule: null, device: 6 })).toBe(state);
    expect(prependLive(state, live({}), { rule: 1, device: 5 }).rows[0]?.id).toBe(20);
  });

  it("counts a live alert among its rule's open ones, when the count is known", () => {
    const rules = [rule({ id: 1, open_alerts: 0 }), rule({ id: 2, open_alerts: null }), rule({ id: 3, open_alerts: 4 })];
    expect(bumpOpen(rules, live({ rule: 1 })).map((r) => r.open_alerts)).toEqual([1, null, 4]);
    expect(bumpOpen(rules, live({ rule: 2 })).map((r) => r.open_alerts)).toEqual([0, null, 4]);
    expect(bumpOpen(rules, live({ rule: 3, cleared_at: 5 }))).toBe(rules);
  });

  it("says why alerts are not live by code, never by message", () => {
    const status = (state: "idle" | "connecting" | "live" | "not_live", code: string | null = null) => ({
      state,
      code,
      message: "secret broker words",
      since: 0,
    });
    expect(alertsLiveWords(status("live"))).toEqual({ live: true, text: "Live alerts" });
    expect(alertsLiveWords(status("connecting")).live).toBe(false);
    expect(alertsLiveWords(status("not_live", "alerts_not_allowed")).text).toContain("alerts.listen");
    expect(alertsLiveWords(status("not_live", "alerts_refused")).text).toContain("refused");
    expect(alertsLiveWords(status("not_live", "no_broker")).text).toContain("without a broker");
    const odd = alertsLiveWords(status("not_live", "something_new"));
    expect(odd.text).toContain("connection failed");
    expect(odd.text).not.toContain("secret");
  });
});
