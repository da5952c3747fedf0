// The typed bridge to the Rust side. Every command goes through `call`, which turns whatever
// the IPC rejects with into an `IpcError` whose `code` the UI branches on (never the message).

import { invoke as tauriInvoke } from "@tauri-apps/api/core";
import type { IpcError as IpcErrorBody } from "./bindings/IpcError";
import type { AlertHistoryPage } from "./bindings/AlertHistoryPage";
import type { AlertRuleView } from "./bindings/AlertRuleView";
import type { AlertsView } from "./bindings/AlertsView";
import type { HistoryFilter } from "./bindings/HistoryFilter";
import type { RuleDraft } from "./bindings/RuleDraft";
import type { RuleEdit } from "./bindings/RuleEdit";
import type { RuleWrite } from "./bindings/RuleWrite";
import type { AuditFilter } from "./bindings/AuditFilter";
import type { AuditPage } from "./bindings/AuditPage";
import type { CreatedKeyView } from "./bindings/CreatedKeyView";
import type { DevicesView } from "./bindings/DevicesView";
import type { LiveStatus } from "./bindings/LiveStatus";
import type { KeyDraft } from "./bindings/KeyDraft";
import type { KeyView } from "./bindings/KeyView";
import type { LegacyReview } from "./bindings/LegacyReview";
import type { PermissionTree } from "./bindings/PermissionTree";
import type { ScopeOption } from "./bindings/ScopeOption";
import type { ActionOption } from "./bindings/ActionOption";
import type { AssetRow } from "./bindings/AssetRow";
import type { AssetView } from "./bindings/AssetView";
import type { ChangeRequest } from "./bindings/ChangeRequest";
import type { EffectiveMatrix } from "./bindings/EffectiveMatrix";
import type { Explanation } from "./bindings/Explanation";
import type { GroupRow } from "./bindings/GroupRow";
import type { Invitation } from "./bindings/Invitation";
import type { OutboxEntry } from "./bindings/OutboxEntry";
import type { OutboxItem } from "./bindings/OutboxItem";
import type { PersonRow } from "./bindings/PersonRow";
import type { PreviewLine } from "./bindings/PreviewLine";
import type { Profile } from "./bindings/Profile";
import type { ProjectRow } from "./bindings/ProjectRow";
import type { ProjectView } from "./bindings/ProjectView";
import type { ReplayReport } from "./bindings/ReplayReport";
import type { Resolution } from "./bindings/Resolution";
import type { RoleMatrix } from "./bindings/RoleMatrix";
import type { SessionInfo } from "./bindings/SessionInfo";
import type { SyncReport } from "./bindings/SyncReport";
import type { TotpSetup } from "./bindings/TotpSetup";
import type { Welcome } from "./bindings/Welcome";
import type { WorkforceRow } from "./bindings/WorkforceRow";

/** Codes the UI treats specially; any other code is shown with its message. */
export type KnownCode =
  | "offline"
  | "wrong_password"
  | "keyring_unavailable"
  | "locked"
  | "session_expired"
  | "unauthenticated"
  | "bad_credentials"
  | "invalid_credentials"
  | "totp_required"
  | "totp_enrolment_required"
  | "version_conflict"
  | "insecure_url"
  | "unknown_profile"
  | "not_allowed"
  | "internal";

export class IpcError extends Error {
  readonly code: string;

  constructor(body: IpcErrorBody) {
    super(body.message);
    this.name = "IpcError";
    this.code = body.code;
  }

  is(code: KnownCode): boolean {
    return this.code === code;
  }
}

function isBody(raw: unknown): raw is IpcErrorBody {
  return (
    typeof raw === "object" &&
    raw !== null &&
    typeof (raw as { code?: unknown }).code === "string" &&
    typeof (raw as { message?: unknown }).message === "string"
  );
}

/** Whatever a rejected `invoke` gave, as an `IpcError`. Tauri itself rejects with a bare
 *  string (a command missing from the capabilities, an argument that did not deserialize). */
export function toIpcError(raw: unknown): IpcError {
  if (raw instanceof IpcError) return raw;
  if (isBody(raw)) return new IpcError(raw);
  if (typeof raw === "string") {
    const code = /not allowed|denied/i.test(raw) ? "not_allowed" : "internal";
    return new IpcError({ code, message: raw });
  }
  if (raw instanceof Error) return new IpcError({ code: "internal", message: raw.message });
  return new IpcError({ code: "internal", message: "the app's back end failed without saying why" });
}

/** Codes meaning the platform no longer accepts this session's token. */
export function isSessionEnded(e: IpcError): boolean {
  return e.code === "session_expired" || e.code === "unauthenticated";
}

/** A sentence for people; the codes the UI expects get wording of their own. */
export function describeError(e: IpcError): string {
  switch (e.code) {
    case "offline":
      return "The platform cannot be reached. You are working from this computer's cache.";
    case "wrong_password":
      return "That password does not open this profile's cache.";
    case "keyring_unavailable":
      return "No system keyring answers. Steward keeps sign-in tokens only in the keyring, so signing in online is not possible; cached profiles still open offline.";
    case "locked":
      return "The console is locked. Enter your password.";
    case "session_expired":
    case "unauthenticated":
      return "Your session on the platform has ended. Sign in again to sync; queued changes are kept.";
    case "bad_credentials":
    case "invalid_credentials":
      return "The email or password is not right.";
    case "totp_required":
      return "This organization requires a code from your authenticator app.";
    case "totp_enrolment_required":
      return "This organization requires two-step verification: set up an authenticator app to finish signing in.";
    case "version_conflict":
      return "Someone changed this on the platform meanwhile. Both sides are shown in Changes.";
    case "insecure_url":
      return "Use https:// for a platform on another machine; plain http:// only reaches this computer.";
    case "invalid_name":
      return `The name is not valid: ${e.message}`;
    case "invalid_condition":
      return `The condition is not valid: ${e.message}`;
    case "invalid_target":
      return "A rule watches all devices, one logical group or one hierarchy subtree, not several.";
    case "unknown_group":
      return "That logical group no longer exists on the platform. Sync, then choose again.";
    case "unknown_node":
      return "That hierarchy node no longer exists on the platform. Sync, then choose again.";
    case "empty_patch":
      return "Nothing was changed.";
    case "invalid_limit":
      return "The platform refused the page size asked for.";
    default:
      return e.message;
  }
}

type Invoker = (cmd: string, args?: Record<string, unknown>) => Promise<unknown>;

let invoker: Invoker = (cmd, args) => tauriInvoke(cmd, args);

/** Tests replace the Tauri bridge with their own. */
export function setInvoker(next: Invoker): void {
  invoker = next;
}

export async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return (await invoker(cmd, args)) as T;
  } catch (raw) {
    throw toIpcError(raw);
  }
}

export type ResourceRef = { kind: "org" } | { kind: "project" | "asset"; id: number };

function resourceArgs(resource: ResourceRef): { resourceKind: string; resourceId: number | null } {
  return resource.kind === "org"
    ? { resourceKind: "org", resourceId: null }
    : { resourceKind: resource.kind, resourceId: resource.id };
}

/** One function per command of src-tauri/src/commands.rs. */
export const api = {
  welcome: () => call<Welcome>("welcome"),
  signIn: (args: { url: string; email: string; password: string; totp: string | null }) =>
    call<SessionInfo>("sign_in", args),
  beginTotpEnrolment: () => call<TotpSetup>("begin_totp_enrolment"),
  confirmTotpEnrolment: (code: string, password: string) =>
    call<SessionInfo>("confirm_totp_enrolment", { code, password }),
  openOffline: (profileId: string, password: string) =>
    call<SessionInfo>("open_offline", { profileId, password }),
  session: () => call<SessionInfo>("session"),
  sync: () => call<SyncReport>("sync"),
  lock: () => call<string | null>("lock"),
  forget: (profileId: string) => call<Profile[]>("forget", { profileId }),
  roleMatrix: () => call<RoleMatrix>("role_matrix"),
  effectiveMatrix: (filter: string) => call<EffectiveMatrix>("effective_matrix", { filter }),
  people: () => call<PersonRow[]>("people"),
  assets: () => call<AssetView[]>("assets"),
  projects: () => call<ProjectView[]>("projects"),
  actions: () => call<ActionOption[]>("actions"),
  explain: (user: number, actionName: string, resource: ResourceRef) =>
    call<Explanation>("explain", { user, actionName, ...resourceArgs(resource) }),
  whoCan: (actionName: string, resource: ResourceRef) =>
    call<Explanation[]>("who_can", { actionName, ...resourceArgs(resource) }),
  previewRole: (user: number, role: string) => call<PreviewLine[]>("preview_role", { user, role }),
  submitRole: (user: number, role: string) => call<OutboxItem>("submit_role", { user, role }),
  outbox: () => call<OutboxEntry[]>("outbox"),
  replay: () => call<ReplayReport>("replay"),
  resolve: (id: number, resolution: Resolution) => call<ReplayReport>("resolve", { id, resolution }),
  groups: () => call<GroupRow[]>("groups"),
  projectMembers: () => call<ProjectRow[]>("project_members"),
  assetGrants: () => call<AssetRow[]>("asset_grants"),
  workforces: () => call<WorkforceRow[]>("workforces"),
  previewChange: (change: ChangeRequest) => call<PreviewLine[]>("preview_change", { change }),
  submitChange: (change: ChangeRequest) => call<OutboxItem>("submit_change", { change }),
  invite: (email: string, role: string) => call<Invitation>("invite", { email, role }),
  exportCsv: (kind: "role_assignments" | "effective_matrix") => call<string | null>("export_csv", { kind }),
  // Devices and live presence (src-tauri/src/commands/devices.rs).
  devices: () => call<DevicesView>("devices"),
  startLive: () => call<LiveStatus>("start_live"),
  // Alert rules and history (src-tauri/src/commands/alerts.rs).
  alerts: () => call<AlertsView>("alerts"),
  createAlertRule: (draft: RuleDraft) => call<AlertRuleView>("create_alert_rule", { draft }),
  updateAlertRule: (id: number, version: number, edit: RuleEdit) =>
    call<RuleWrite>("update_alert_rule", { id, version, edit }),
  deleteAlertRule: (id: number, version: number) => call<RuleWrite>("delete_alert_rule", { id, version }),
  alertHistory: (filter: HistoryFilter) => call<AlertHistoryPage>("alert_history", { filter }),
  /** Benchmarks only (STEWARD_BENCH): prints the report with the time since start, then exits. */
  benchReport: (report: unknown) => call<null>("bench_report", { report }),
  // API keys, audit log, legacy review (src-tauri/src/commands/admin.rs).
  permissionTree: () => call<PermissionTree>("permission_tree"),
  keys: () => call<KeyView[]>("keys"),
  keyScopes: () => call<ScopeOption[]>("key_scopes"),
  importKeyJson: (text: string) => call<string[]>("import_key_json", { text }),
  exportKeyJson: (permissions: string[]) => call<string>("export_key_json", { permissions }),
  createKey: (draft: KeyDraft) => call<CreatedKeyView>("create_key", { draft }),
  disableKey: (id: number) => call<KeyView>("disable_key", { id }),
  enableKey: (id: number) => call<KeyView>("enable_key", { id }),
  revokeKey: (id: number) => call<KeyView>("revoke_key", { id }),
  setKeyPermissions: (id: number, permissions: string[]) =>
    call<OutboxItem>("set_key_permissions", { id, permissions }),
  audit: (filter: AuditFilter) => call<AuditPage>("audit", { filter }),
  legacyReview: () => call<LegacyReview>("legacy_review"),
  previewLegacyChoice: (user: number, project: number, role: string) =>
    call<PreviewLine[]>("preview_legacy_choice", { user, project, role }),
  applyLegacyChoice: (user: number, project: number, role: string) =>
    call<OutboxItem>("apply_legacy_choice", { user, project, role }),
};
