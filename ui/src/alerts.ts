// The Alerts view's logic: rules in words, the rule form and what it sends, and the history's
// paging.

import type { AlertHistoryPage } from "./bindings/AlertHistoryPage";
import type { AlertHistoryRow } from "./bindings/AlertHistoryRow";
import type { AlertRuleView } from "./bindings/AlertRuleView";
import type { GroupRollup } from "./bindings/GroupRollup";
import type { LiveStatus } from "./bindings/LiveStatus";
import type { RuleCondition } from "./bindings/RuleCondition";
import type { RuleDraft } from "./bindings/RuleDraft";
import type { RuleEdit } from "./bindings/RuleEdit";
import type { RuleTarget } from "./bindings/RuleTarget";

/** "45 s", "2 min", "1 h 30 min", "2 d". */
export function durationWords(seconds: number): string {
  if (seconds % 86_400 === 0 && seconds >= 86_400) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600} h`;
  if (seconds >= 3600 && seconds % 60 === 0) {
    const h = Math.floor(seconds / 3600);
    return `${h} h ${(seconds - h * 3600) / 60} min`;
  }
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** "motor.temp above 79.9", "offline for more than 2 min". */
export function conditionWords(c: RuleCondition): string {
  switch (c.kind) {
    case "above":
      return `${c.field} above ${c.value}`;
    case "below":
      return `${c.field} below ${c.value}`;
    case "offline":
      return `offline for more than ${durationWords(c.seconds)}`;
  }
}

/** "All devices", "Group Cooling pumps", "North site › Line 2 and below"; an id when the cache
 *  does not know the name. */
export function targetWords(t: RuleTarget): string {
  if (t.logical_group !== null) return `Group ${t.name ?? `#${t.logical_group}`}`;
  if (t.node !== null) return `${t.name ?? `Hierarchy node #${t.node}`} and below`;
  return "All devices";
}

/** "3 open", "none open", "" when unknown; "+" when older open alerts may be missing. */
export function openWords(rule: AlertRuleView, partial: boolean): string {
  if (rule.open_alerts === null) return "";
  if (rule.open_alerts === 0) return partial ? "none recent" : "none open";
  return `${rule.open_alerts}${partial ? "+" : ""} open`;
}

// ----- the rule form ------------------------------------------------------------------------

export type ConditionKind = RuleCondition["kind"];
export type DurationUnit = "s" | "min" | "h";

const UNIT_SECONDS: Record<DurationUnit, number> = { s: 1, min: 60, h: 3600 };

/** The dialog's fields, as typed. */
export interface RuleForm {
  name: string;
  kind: ConditionKind;
  field: string;
  threshold: string;
  duration: string;
  unit: DurationUnit;
  /** "all", "group:<id>" or "node:<id>". */
  target: string;
  enabled: boolean;
}

export const EMPTY_FORM: RuleForm = {
  name: "",
  kind: "above",
  field: "",
  threshold: "",
  duration: "2",
  unit: "min",
  target: "all",
  enabled: true,
};

/** The largest unit that divides the seconds exactly. */
function splitSeconds(seconds: number): { duration: string; unit: DurationUnit } {
  if (seconds % 3600 === 0) return { duration: String(seconds / 3600), unit: "h" };
  if (seconds % 60 === 0) return { duration: String(seconds / 60), unit: "min" };
  return { duration: String(seconds), unit: "s" };
}

export function targetKey(t: RuleTarget): string {
  if (t.logical_group !== null) return `group:${t.logical_group}`;
  if (t.node !== null) return `node:${t.node}`;
  return "all";
}

export function formOf(rule: AlertRuleView): RuleForm {
  const c = rule.condition;
  const base = { ...EMPTY_FORM, name: rule.name, kind: c.kind, target: targetKey(rule.target), enabled: rule.enabled };
  if (c.kind === "offline") return { ...base, ...splitSeconds(c.seconds) };
  return { ...base, field: c.field, threshold: String(c.value) };
}

function targetOf(key: string, targets: readonly GroupRollup[]): RuleTarget | string {
  if (key === "all") return { logical_group: null, node: null, name: null };
  const [kind, raw] = key.split(":");
  const id = Number(raw);
  const known = targets.find((t) => t.id === id && (kind === "group" ? t.kind === "logical" : t.kind === "hierarchy"));
  if (!Number.isInteger(id)) return "Choose what the rule watches.";
  if (kind === "group") return { logical_group: id, node: null, name: known?.name ?? null };
  if (kind === "node") return { logical_group: null, node: id, name: known?.path ?? null };
  return "Choose what the rule watches.";
}

/** The form as a rule to send, or the sentence saying what to fix. The platform checks again
 *  (and its codes are shown in words); this only catches what can be said before asking. */
export function draftOf(form: RuleForm, targets: readonly GroupRollup[]): RuleDraft | string {
  const name = form.name.trim();
  if (name === "") return "Give the rule a name.";
  let condition: RuleCondition;
  if (form.kind === "offline") {
    const n = Number(form.duration.trim());
    if (form.duration.trim() === "" || !Number.isInteger(n) || n <= 0)
      return "The time offline must be a whole number greater than zero.";
    condition = { kind: "offline", seconds: n * UNIT_SECONDS[form.unit] };
  } else {
    const field = form.field.trim();
    if (field === "") return "Name the telemetry field, such as temp or motor.temp.";
    const value = Number(form.threshold.trim());
    if (form.threshold.trim() === "" || !Number.isFinite(value)) return "The threshold must be a number.";
    condition = { kind: form.kind, field, value };
  }
  const target = targetOf(form.target, targets);
  if (typeof target === "string") return target;
  return { name, condition, target, enabled: form.enabled };
}

function sameCondition(a: RuleCondition, b: RuleCondition): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What changed from `rule` to `draft`, as an edit (null fields stay as they are); null when
 *  nothing did. */
export function editOf(rule: AlertRuleView, draft: RuleDraft): RuleEdit | null {
  const edit: RuleEdit = {
    name: draft.name !== rule.name ? draft.name : null,
    condition: sameCondition(draft.condition, rule.condition) ? null : draft.condition,
    target: targetKey(draft.target) !== targetKey(rule.target) ? draft.target : null,
    enabled: draft.enabled !== rule.enabled ? draft.enabled : null,
  };
  const changed = edit.name !== null || edit.condition !== null || edit.target !== null || edit.enabled !== null;
  return changed ? edit : null;
}

/** The target picker's options: logical groups, then the tree indented by depth. */
export function targetOptions(targets: readonly GroupRollup[]): {
  groups: { value: string; label: string }[];
  nodes: { value: string; label: string }[];
} {
  return {
    groups: targets.filter((t) => t.kind === "logical").map((t) => ({ value: `group:${t.id}`, label: t.name })),
    nodes: targets
      .filter((t) => t.kind === "hierarchy")
      .map((t) => ({ value: `node:${t.id}`, label: `${"\u2003".repeat(t.depth)}${t.name}` })),
  };
}

// ----- history paging -------------------------------------------------------------------------

export interface HistoryState {
  rows: AlertHistoryRow[];
  /** The `before` of the next (older) page; null when the last page has been read. */
  before: number | null;
}

export const NO_HISTORY: HistoryState = { rows: [], before: null };

/** The rows so far with an older page appended: newest first, each alert once (an alert fired
 *  between two pages is not repeated), and where to page from next. */
export function appendPage(state: HistoryState, page: AlertHistoryPage): HistoryState {
  const seen = new Set(state.rows.map((r) => r.id));
  const rows = [...state.rows, ...page.rows.filter((r) => !seen.has(r.id))].sort((a, b) => b.id - a.id);
  return { rows, before: page.next_before };
}

/** "Open" or when it cleared. */
export function clearedWords(row: AlertHistoryRow, format: (ms: number) => string): string {
  return row.cleared_at === null ? "open" : format(row.cleared_at);
}

// ----- live alerts ----------------------------------------------------------------------------

/** The history's filters, as the live rows are checked against them. */
export interface HistoryFilters {
  rule: number | null;
  device: number | null;
}

/** Whether a live alert belongs in the history as it is filtered. */
export function matchesFilters(row: AlertHistoryRow, filters: HistoryFilters): boolean {
  return (filters.rule === null || row.rule === filters.rule) && (filters.device === null || row.device === filters.device);
}

/** The history with a live alert put in its place (newest first), when the filters show it and
 *  it is not there yet; the same state otherwise (paging goes on from where it was). */
export function prependLive(state: HistoryState, row: AlertHistoryRow, filters: HistoryFilters): HistoryState {
  if (!matchesFilters(row, filters) || state.rows.some((r) => r.id === row.id)) return state;
  const rows = [row, ...state.rows].sort((a, b) => b.id - a.id);
  return { ...state, rows };
}

/** The rules with a live alert counted among its rule's open ones (unknown counts stay
 *  unknown; an alert already cleared counts nothing). */
export function bumpOpen(rules: AlertRuleView[], row: AlertHistoryRow): AlertRuleView[] {
  if (row.cleared_at !== null) return rules;
  return rules.map((r) => (r.id === row.rule && r.open_alerts !== null ? { ...r, open_alerts: r.open_alerts + 1 } : r));
}

/** The Alerts view's "Live" badge: whether alerts arrive live and, when not, why — from the
 *  status's code, never its message. */
export function alertsLiveWords(live: LiveStatus): { live: boolean; text: string } {
  switch (live.state) {
    case "live":
      return { live: true, text: "Live alerts" };
    case "idle":
    case "connecting":
      return { live: false, text: "Alerts not live yet: connecting to the broker" };
    case "not_live":
      break;
  }
  const why = (() => {
    switch (live.code) {
      case "alerts_not_allowed":
        return "your role does not receive alerts (alerts.listen)";
      case "alerts_refused":
      case "forbidden":
        return "the broker refused this session alerts";
      case "no_broker":
        return "this platform runs without a broker";
      case "offline":
        return "the platform cannot be reached";
      case "broker_unreachable":
        return "the broker does not answer";
      case "session_expired":
      case "unauthenticated":
        return "your session has ended; sign in again";
      case "insecure_broker_url":
        return "the broker is on another machine without TLS";
      case "broker_tls_unsupported":
        return "the broker needs TLS, which this console does not speak";
      default:
        return "the broker connection failed";
    }
  })();
  return { live: false, text: `Alerts not live: ${why}; Refresh shows new ones` };
}
