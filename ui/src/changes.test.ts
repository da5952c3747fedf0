import { describe, expect, it } from "vitest";
import { grantChange, granteeKey, inviteError, outcomeMessage, parseGrantee } from "./changes";
import type { OutboxItem } from "./bindings/OutboxItem";

const item = (state: OutboxItem["state"], error: string | null = null): OutboxItem => ({
  id: 1,
  change: {},
  base_version: 1,
  state,
  error,
  server: null,
  created_at: 0,
});

describe("grantee keys", () => {
  it("round-trip people and groups", () => {
    expect(granteeKey({ kind: "user", id: 4 })).toBe("user:4");
    expect(parseGrantee("user:4")).toEqual({ kind: "user", id: 4 });
    expect(parseGrantee(granteeKey({ kind: "group", id: 12 }))).toEqual({ kind: "group", id: 12 });
  });
  it("refuse anything else", () => {
    expect(parseGrantee("")).toBeNull();
    expect(parseGrantee("key:1")).toBeNull();
    expect(parseGrantee("user:")).toBeNull();
    expect(parseGrantee("user:1:2")).toBeNull();
  });
});

describe("outcome of a submitted change", () => {
  it("says saved when the platform took it", () => {
    expect(outcomeMessage(undefined, "Saved.")).toBe("Saved.");
  });
  it("says queued, contested or refused otherwise", () => {
    expect(outcomeMessage(item("pending"), "Saved.")).toMatch(/^Queued/);
    expect(outcomeMessage(item("conflict"), "Saved.")).toMatch(/Both sides are in Changes/);
    expect(outcomeMessage(item("failed", "last_owner: no"), "Saved.")).toContain("last_owner: no");
  });
});

describe("invite errors", () => {
  it("say offline means the network is needed, by code", () => {
    expect(inviteError({ code: "offline", message: "connection refused" })).toMatch(/needs the platform/);
    expect(inviteError({ code: "forbidden", message: "x" })).toMatch(/may not invite/);
    expect(inviteError({ code: "invalid_email", message: "`x` is not an email address" })).toBe(
      "`x` is not an email address",
    );
  });
});

describe("grant dialog changes", () => {
  const henrik = { kind: "user", id: 4 } as const;
  const thermal = { kind: "asset", id: 2 } as const;
  it("grants a role the grantee does not hold yet", () => {
    expect(grantChange(thermal, henrik, "member", null, false)).toEqual({
      change: "set_asset_role",
      grantee: henrik,
      asset: 2,
      role: "member",
    });
    expect(grantChange({ kind: "project", id: 1 }, { kind: "group", id: 1 }, "chat", "viewer", false)).toEqual({
      change: "set_project_role",
      grantee: { kind: "group", id: 1 },
      project: 1,
      role: "chat",
    });
  });
  it("removes an existing grant with a null role", () => {
    expect(grantChange(thermal, henrik, "member", "member", true)).toMatchObject({ role: null });
  });
  it("has nothing to save without a grantee, for the role already held, or removing nothing", () => {
    expect(grantChange(thermal, null, "member", null, false)).toBeNull();
    expect(grantChange(thermal, henrik, "member", "member", false)).toBeNull();
    expect(grantChange(thermal, henrik, "member", null, true)).toBeNull();
  });
});
