import { describe, expect, it } from "vitest";
import type { PermissionTree } from "./bindings/PermissionTree";
import type { TreeModule } from "./bindings/TreeModule";
import { diff, inCatalogOrder, labelOf, moduleState, toggle, toggleModule, warnings } from "./keys";

// The shape `permission_tree` returns (a slice of the catalog).
const mod = (module: string, label: string, verbs: string[], implies: Record<string, string> = {}): TreeModule => ({
  module,
  label,
  iot_path: null,
  actions: verbs.map((verb) => ({
    permission: `${module}.${verb}`,
    verb,
    label: `${verb} ${label}`,
    description: "",
    implies: implies[verb] ?? null,
  })),
});

const events = mod("events", "Events", ["view", "manage"], { manage: "events.view" });
const alerts = mod("alerts", "Alerts", ["listen", "create", "update", "delete", "list", "history"]);
const devices = mod("devices", "Devices", ["create", "update", "delete", "list"]);
const groups = mod("logical_group", "Logical groups", ["listen", "create", "update", "delete", "list"]);
const telemetry = mod("telemetry", "Telemetry", ["listen"]);

const tree: PermissionTree = {
  sections: [
    { source: "maintenance", label: "Maintenance platform", modules: [events] },
    { source: "iot", label: "Devices and real-time (IoT)", modules: [telemetry, alerts, groups, devices] },
  ],
};

describe("toggle", () => {
  it("checking manage brings view", () => {
    expect([...toggle(tree, new Set(), "events.manage", true)].sort()).toEqual(["events.manage", "events.view"]);
  });

  it("unchecking view takes manage away, unchecking manage keeps view", () => {
    const both = new Set(["events.view", "events.manage"]);
    expect([...toggle(tree, both, "events.view", false)]).toEqual([]);
    expect([...toggle(tree, both, "events.manage", false)]).toEqual(["events.view"]);
  });

  it("list never brings listen", () => {
    expect([...toggle(tree, new Set(), "alerts.list", true)]).toEqual(["alerts.list"]);
  });

  it("does not change the set it was given", () => {
    const start = new Set(["alerts.list"]);
    toggle(tree, start, "alerts.listen", true);
    expect([...start]).toEqual(["alerts.list"]);
  });
});

describe("modules", () => {
  it("checks and unchecks a whole module and reports its state", () => {
    const all = toggleModule(devices, new Set(), true);
    expect(moduleState(devices, all)).toBe("all");
    expect(moduleState(devices, new Set(["devices.list"]))).toBe("some");
    expect(moduleState(devices, toggleModule(devices, all, false))).toBe("none");
  });

  it("keeps catalog order and labels", () => {
    const checked = new Set(["devices.list", "events.view", "telemetry.listen"]);
    expect(inCatalogOrder(tree, checked)).toEqual(["events.view", "telemetry.listen", "devices.list"]);
    expect(labelOf(tree, "devices.list")).toBe("list Devices");
    expect(labelOf(tree, "unknown.thing")).toBe("unknown.thing");
  });

  it("diffs an edit", () => {
    expect(diff(tree, new Set(["events.view", "devices.list"]), new Set(["devices.list", "telemetry.listen"]))).toEqual({
      added: ["telemetry.listen"],
      removed: ["events.view"],
    });
  });
});

describe("warnings (the IoT document's common mistakes)", () => {
  const codes = (checked: string[], keyEnabled = false) =>
    warnings(tree, new Set(checked), { keyEnabled }).map((w) => `${w.code}:${w.module ?? ""}`);

  it("says nothing for an empty key or a complete listening module", () => {
    expect(codes([])).toEqual([]);
    expect(codes(["alerts.listen", "alerts.list", "telemetry.listen"])).toEqual([]);
  });

  it("warns that list does not imply listen", () => {
    expect(codes(["alerts.list"])).toEqual(["list_without_listen:alerts"]);
  });

  it("warns when a module is used without listen", () => {
    expect(codes(["logical_group.create"])).toEqual(["no_listen:logical_group"]);
  });

  it("does not ask for listen on modules that have none", () => {
    expect(codes(["devices.list", "events.manage", "events.view"])).toEqual([]);
  });

  it("warns about delete on devices and groups, not on alerts", () => {
    expect(codes(["devices.delete"])).toEqual(["delete_impact:devices"]);
    expect(codes(["logical_group.listen", "logical_group.delete"])).toEqual(["delete_impact:logical_group"]);
    expect(codes(["alerts.listen", "alerts.delete"])).toEqual([]);
  });

  it("warns that an enabled key cannot be edited", () => {
    expect(codes([], true)).toEqual(["edit_while_enabled:"]);
  });

  it("names the module by its catalog label", () => {
    const [w] = warnings(tree, new Set(["alerts.list"]));
    expect(w?.message).toContain("Alerts");
  });
});
