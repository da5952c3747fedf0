// The API-key permission tree editor's state and the IoT document's warnings. The tree (labels,
// grouping, what implies what) comes from steward-model through `permission_tree`; this file
// only decides what a click does and what to warn about.

import type { PermissionTree } from "./bindings/PermissionTree";
import type { TreeModule } from "./bindings/TreeModule";

export type Checked = ReadonlySet<string>;

function actionsOf(tree: PermissionTree) {
  return tree.sections.flatMap((s) => s.modules.flatMap((m) => m.actions));
}

/** Checks or unchecks one permission: checking brings what it implies (`manage` brings `view`);
 *  unchecking takes away whatever implies it, so the set stays what the platform will store. */
export function toggle(tree: PermissionTree, checked: Checked, permission: string, on: boolean): Set<string> {
  const next = new Set(checked);
  const all = actionsOf(tree);
  if (on) {
    next.add(permission);
    const implied = all.find((a) => a.permission === permission)?.implies;
    if (implied) next.add(implied);
  } else {
    next.delete(permission);
    for (const a of all) if (a.implies === permission) next.delete(a.permission);
  }
  return next;
}

/** Checks or unchecks every action of a module. */
export function toggleModule(module: TreeModule, checked: Checked, on: boolean): Set<string> {
  const next = new Set(checked);
  for (const a of module.actions) {
    if (on) next.add(a.permission);
    else next.delete(a.permission);
  }
  return next;
}

export type ModuleState = "all" | "some" | "none";

export function moduleState(module: TreeModule, checked: Checked): ModuleState {
  const n = module.actions.filter((a) => checked.has(a.permission)).length;
  return n === 0 ? "none" : n === module.actions.length ? "all" : "some";
}

/** The checked permissions in catalog order (as the platform lists them). */
export function inCatalogOrder(tree: PermissionTree, checked: Checked): string[] {
  return actionsOf(tree)
    .map((a) => a.permission)
    .filter((p) => checked.has(p));
}

/** A permission's label, from the catalog. */
export function labelOf(tree: PermissionTree, permission: string): string {
  return actionsOf(tree).find((a) => a.permission === permission)?.label ?? permission;
}

/** What an edit adds and removes, in catalog order. */
export function diff(tree: PermissionTree, before: Checked, after: Checked): { added: string[]; removed: string[] } {
  const order = actionsOf(tree).map((a) => a.permission);
  return {
    added: order.filter((p) => after.has(p) && !before.has(p)),
    removed: order.filter((p) => before.has(p) && !after.has(p)),
  };
}

export type WarningCode = "edit_while_enabled" | "list_without_listen" | "no_listen" | "delete_impact";

export interface KeyWarning {
  code: WarningCode;
  /** The module it is about (none for the key as a whole). */
  module: string | null;
  message: string;
}

/** Modules whose `delete` removes devices or groups, the IoT document's "understand the impact". */
const DELETE_WITH_IMPACT = new Set(["devices", "logical_group", "hierarchy_group"]);

/** The IoT document's "common mistakes", for the permissions being edited. */
export function warnings(tree: PermissionTree, checked: Checked, opts: { keyEnabled?: boolean } = {}): KeyWarning[] {
  const out: KeyWarning[] = [];
  if (opts.keyEnabled) {
    out.push({
      code: "edit_while_enabled",
      module: null,
      message: "This key is enabled. Its permissions can only be edited while it is disabled: disable, edit, enable.",
    });
  }
  for (const module of tree.sections.flatMap((s) => s.modules)) {
    const has = (verb: string) => module.actions.some((a) => a.verb === verb && checked.has(a.permission));
    const offers = (verb: string) => module.actions.some((a) => a.verb === verb);
    if (offers("listen") && !has("listen")) {
      if (has("list")) {
        out.push({
          code: "list_without_listen",
          module: module.module,
          message: `${module.label}: "list" does not include "listen"; without listen the key gets no real-time updates.`,
        });
      } else if (module.actions.some((a) => a.verb !== "listen" && checked.has(a.permission))) {
        out.push({
          code: "no_listen",
          module: module.module,
          message: `${module.label}: "listen" is off, so the key receives no real-time updates for this module.`,
        });
      }
    }
    if (DELETE_WITH_IMPACT.has(module.module) && has("delete")) {
      out.push({
        code: "delete_impact",
        module: module.module,
        message: `${module.label}: "delete" lets the key remove them for good, with their data and memberships.`,
      });
    }
  }
  return out;
}
