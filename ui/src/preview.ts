// Preview lines (who gains and who loses what) split for display.

import type { PreviewLine } from "./bindings/PreviewLine";

export interface PrincipalDelta {
  principal: string;
  /** What they gain, without the "Name gains " prefix ("agents.manage", "asset.run on X"). */
  gains: string[];
  losses: string[];
}

function strip(line: PreviewLine): string {
  const prefix = `${line.principal} ${line.gained ? "gains" : "loses"} `;
  return line.text.startsWith(prefix) ? line.text.slice(prefix.length) : line.text;
}

/** Preview lines per person (or key), in name order, each list sorted. */
export function groupPreview(lines: readonly PreviewLine[]): PrincipalDelta[] {
  const by = new Map<string, PrincipalDelta>();
  for (const line of lines) {
    let entry = by.get(line.principal);
    if (!entry) {
      entry = { principal: line.principal, gains: [], losses: [] };
      by.set(line.principal, entry);
    }
    (line.gained ? entry.gains : entry.losses).push(strip(line));
  }
  const sorted = [...by.values()].sort((a, b) => a.principal.localeCompare(b.principal));
  for (const e of sorted) {
    e.gains.sort();
    e.losses.sort();
  }
  return sorted;
}
