import { afterEach, describe, expect, it } from "vitest";
import { api, call, describeError, IpcError, isSessionEnded, setInvoker, toIpcError } from "./ipc";

describe("toIpcError", () => {
  it("keeps the code and message of the Rust side's {code, message}", () => {
    const e = toIpcError({ code: "wrong_password", message: "wrong password for this profile's cache" });
    expect(e).toBeInstanceOf(IpcError);
    expect(e.code).toBe("wrong_password");
    expect(e.is("wrong_password")).toBe(true);
    expect(e.message).toBe("wrong password for this profile's cache");
  });

  it("maps Tauri's own string rejections", () => {
    expect(toIpcError("Command sign_in not allowed by ACL").code).toBe("not_allowed");
    expect(toIpcError("invalid args `user` for command `explain`").code).toBe("internal");
  });

  it("maps anything else to internal", () => {
    expect(toIpcError(new Error("boom")).code).toBe("internal");
    expect(toIpcError(undefined).code).toBe("internal");
    expect(toIpcError({ code: 7 }).code).toBe("internal");
  });

  it("passes an IpcError through unchanged", () => {
    const e = new IpcError({ code: "offline", message: "x" });
    expect(toIpcError(e)).toBe(e);
  });
});

describe("call", () => {
  afterEach(() => setInvoker(() => Promise.reject(new Error("no bridge in tests"))));

  it("rejects with a typed IpcError the UI can branch on", async () => {
    setInvoker(() => Promise.reject({ code: "keyring_unavailable", message: "no keyring" }));
    const err = await call("welcome").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpcError);
    expect((err as IpcError).code).toBe("keyring_unavailable");
  });

  it("sends the commands' arguments in Tauri's camelCase", async () => {
    const seen: Array<[string, Record<string, unknown> | undefined]> = [];
    setInvoker((cmd, args) => {
      seen.push([cmd, args]);
      return Promise.resolve(null);
    });
    await api.openOffline("abc", "pw");
    await api.explain(6, "asset.run", { kind: "asset", id: 9 });
    await api.whoCan("events.manage", { kind: "org" });
    expect(seen).toEqual([
      ["open_offline", { profileId: "abc", password: "pw" }],
      ["explain", { user: 6, actionName: "asset.run", resourceKind: "asset", resourceId: 9 }],
      ["who_can", { actionName: "events.manage", resourceKind: "org", resourceId: null }],
    ]);
  });
});

describe("describeError", () => {
  it("words the codes the UI expects and falls back to the message", () => {
    expect(describeError(new IpcError({ code: "offline", message: "x" }))).toMatch(/cache/);
    expect(describeError(new IpcError({ code: "session_expired", message: "x" }))).toMatch(/Sign in again/);
    expect(describeError(new IpcError({ code: "forbidden", message: "you may not" }))).toBe("you may not");
  });

  it("knows which codes mean the platform session ended", () => {
    expect(isSessionEnded(new IpcError({ code: "session_expired", message: "" }))).toBe(true);
    expect(isSessionEnded(new IpcError({ code: "unauthenticated", message: "" }))).toBe(true);
    expect(isSessionEnded(new IpcError({ code: "offline", message: "" }))).toBe(false);
  });
});
