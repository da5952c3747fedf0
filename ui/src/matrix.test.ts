import { describe, expect, it } from "vitest";
import type { PermissionColumn } from "./bindings/PermissionColumn";
import type { RoleMatrix } from "./bindings/RoleMatrix";
import type { PreviewLine } from "./bindings/PreviewLine";
import { actionOf, groupByModule, moduleTitle, roleMatrixSections, roleTotals } from "./matrix";
import { groupPreview } from "./preview";
import { IdleClock } from "./idle";

const col = (name: string, module: string): PermissionColumn => ({ name, module, label: name, description: "" });

const columns = [
  col("agents.view", "agents"),
  col("agents.manage", "agents"),
  col("commands.rpc.listen", "commands.rpc"),
  col("commands.rpc.call", "commands.rpc"),
  col("billing.manage", "billing"),
];

describe("groupByModule", () => {
  it("groups consecutive columns by module and remembers where each group starts", () => {
    const groups = groupByModule(columns);
    expect(groups.map((g) => [g.module, g.start, g.columns.length])).toEqual([
      ["agents", 0, 2],
      ["commands.rpc", 2, 2],
      ["billing", 4, 1],
    ]);
  });

  it("never reorders the catalog", () => {
    const groups = groupByModule([col("a.view", "a"), col("b.view", "b"), col("a.manage", "a")]);
    expect(groups.map((g) => g.module)).toEqual(["a", "b", "a"]);
  });

  it("is empty for no columns", () => {
    expect(groupByModule([])).toEqual([]);
  });
});

describe("labels", () => {
  it("takes the action after the module", () => {
    expect(actionOf(col("commands.rpc.call", "commands.rpc"))).toBe("call");
    expect(actionOf(col("agents.view", "agents"))).toBe("view");
  });

  it("titles modules for people", () => {
    expect(moduleTitle("api_keys")).toBe("API keys");
    expect(moduleTitle("commands.rpc")).toBe("Commands RPC");
    expect(moduleTitle("hierarchy_group")).toBe("Hierarchy group");
  });
});

describe("the role matrix", () => {
  const matrix: RoleMatrix = {
    roles: ["viewer", "admin"],
    permissions: columns,
    cells: [
      [true, false, true, false, false],
      [true, true, true, true, false],
    ],
  };

  it("turns roles into columns, one section per module", () => {
    const sections = roleMatrixSections(matrix);
    expect(sections.map((s) => s.module)).toEqual(["agents", "commands.rpc", "billing"]);
    expect(sections[0]?.rows.map((r) => [r.column.name, r.held])).toEqual([
      ["agents.view", [true, true]],
      ["agents.manage", [false, true]],
    ]);
    expect(sections[2]?.rows[0]?.held).toEqual([false, false]);
  });

  it("counts what each role holds", () => {
    expect(roleTotals(matrix)).toEqual([2, 4]);
  });
});

describe("IdleClock", () => {
  it("expires after the timeout without activity, and activity moves it on", () => {
    const clock = new IdleClock(1000, 0);
    expect(clock.expired(999)).toBe(false);
    clock.touch(900);
    expect(clock.expired(1500)).toBe(false);
    expect(clock.remainingMs(1500)).toBe(400);
    expect(clock.expired(1900)).toBe(true);
  });
});

describe("groupPreview", () => {
  it("groups by principal and drops the repeated name and verb", () => {
    const lines: PreviewLine[] = [
      { principal: "Tomás Ortega", gained: true, text: "Tomás Ortega gains tools.manage" },
      { principal: "Tomás Ortega", gained: true, text: "Tomás Ortega gains agents.manage" },
      { principal: "Aisha Bello", gained: false, text: "Aisha Bello loses asset.run on Shift Handover" },
    ];
    expect(groupPreview(lines)).toEqual([
      { principal: "Aisha Bello", gains: [], losses: ["asset.run on Shift Handover"] },
      { principal: "Tomás Ortega", gains: ["agents.manage", "tools.manage"], losses: [] },
    ]);
  });
});
