// Helpers of the directory views' changes: grantee keys for <select> values, and what a
// submitted change's outcome means for the person who made it.

import type { ChangeRequest } from "./bindings/ChangeRequest";
import type { GranteeRef } from "./bindings/GranteeRef";
import type { OutboxItem } from "./bindings/OutboxItem";

/** `user:7` / `group:1`: a grantee as a <select> value. */
export function granteeKey(g: GranteeRef): string {
  return `${g.kind}:${g.id}`;
}

/** The grantee a <select> value names, or null for anything else. */
export function parseGrantee(value: string): GranteeRef | null {
  const m = /^(user|group):(\d+)$/.exec(value);
  if (!m) return null;
  const id = Number(m[2]);
  if (!Number.isSafeInteger(id)) return null;
  return m[1] === "user" ? { kind: "user", id } : { kind: "group", id };
}

/** The sentence shown after saving: saved, queued (offline), contested or refused. `item` is the
 *  outbox entry still holding the change, or undefined when the platform accepted it. */
export function outcomeMessage(item: OutboxItem | undefined, saved: string): string {
  if (!item) return saved;
  switch (item.state) {
    case "pending":
      return "Queued: the platform cannot be reached now. The change is sent when it answers; it is marked in every view until then.";
    case "conflict":
      return "Someone changed this on the platform meanwhile. Both sides are in Changes: keep yours or take theirs.";
    case "failed":
      return `The platform refused the change: ${item.error ?? "no reason given"}.`;
  }
}

/** Asset roles, most powerful first, as the share dialog offers them. */
export const ASSET_ROLES = ["admin", "member", "viewer"] as const;

/** Project roles, most powerful first. */
export const PROJECT_ROLES = ["admin", "editor", "member", "chat", "viewer"] as const;

/** What a role on an asset lets its holder do, in a few words. */
export function assetRoleHint(role: string): string {
  switch (role) {
    case "admin":
      return "edit, delete, share";
    case "member":
      return "run and view outputs";
    case "viewer":
      return "view configuration and outputs";
    default:
      return "";
  }
}

/** Why an invite did not go out, by code. */
export function inviteError(e: { code: string; message: string }): string {
  switch (e.code) {
    case "offline":
      return "Inviting needs the platform, and it cannot be reached now. Try again when the console is online.";
    case "invalid_email":
    case "invalid_input":
      return e.message;
    case "forbidden":
      return "Your role may not invite people with that role.";
    default:
      return e.message;
  }
}

/** The change a grant dialog saves: set `role` (or remove the grant) for `grantee` on a project
 *  or an asset; null when there is nothing to change (no grantee, the role already held, or a
 *  removal of a grant that does not exist). */
export function grantChange(
  on: { kind: "project" | "asset"; id: number },
  grantee: GranteeRef | null,
  role: string,
  current: string | null,
  remove: boolean,
): ChangeRequest | null {
  if (!grantee) return null;
  if (remove ? current === null : current === role) return null;
  const next = remove ? null : role;
  return on.kind === "asset"
    ? { change: "set_asset_role", grantee, asset: on.id, role: next }
    : { change: "set_project_role", grantee, project: on.id, role: next };
}
