// Shapes the matrices for display: catalog columns grouped by module, roles as columns.

import type { PermissionColumn } from "./bindings/PermissionColumn";
import type { RoleMatrix } from "./bindings/RoleMatrix";

export interface ModuleGroup {
  module: string;
  /** Index of the group's first column in the catalog order. */
  start: number;
  columns: PermissionColumn[];
}

/** Consecutive columns of the same module, in catalog order. A module that appears again
 *  later (it should not) starts a new group rather than reordering the catalog. */
export function groupByModule(columns: readonly PermissionColumn[]): ModuleGroup[] {
  const groups: ModuleGroup[] = [];
  columns.forEach((column, index) => {
    const last = groups[groups.length - 1];
    if (last && last.module === column.module) {
      last.columns.push(column);
    } else {
      groups.push({ module: column.module, start: index, columns: [column] });
    }
  });
  return groups;
}

/** The action part of `module.action` (`commands.rpc.call` → `call`). */
export function actionOf(column: PermissionColumn): string {
  const prefix = `${column.module}.`;
  return column.name.startsWith(prefix) ? column.name.slice(prefix.length) : column.name;
}

/** "commands.rpc" → "Commands RPC", "api_keys" → "API keys". */
export function moduleTitle(module: string): string {
  const words = module.split(/[._]/).map((w) => (w === "api" || w === "rpc" ? w.toUpperCase() : w));
  const text = words.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export interface RoleMatrixRow {
  column: PermissionColumn;
  /** One flag per role, in `matrix.roles` order. */
  held: boolean[];
}

export interface RoleMatrixSection {
  module: string;
  rows: RoleMatrixRow[];
}

/** The role matrix turned for reading: one section per module, one row per permission, one
 *  column per role. */
export function roleMatrixSections(matrix: RoleMatrix): RoleMatrixSection[] {
  return groupByModule(matrix.permissions).map((group) => ({
    module: group.module,
    rows: group.columns.map((column, i) => ({
      column,
      held: matrix.roles.map((_, r) => matrix.cells[r]?.[group.start + i] ?? false),
    })),
  }));
}

/** How many catalog permissions each role holds. */
export function roleTotals(matrix: RoleMatrix): number[] {
  return matrix.roles.map((_, r) => (matrix.cells[r] ?? []).filter(Boolean).length);
}
