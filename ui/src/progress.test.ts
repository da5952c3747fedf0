import { describe, expect, it } from "vitest";
import { syncChangedData, syncFraction, syncWords } from "./progress";

describe("sync progress", () => {
  it("is the share of the feed between the starting cursor and the head", () => {
    expect(syncFraction({ cursor: 250, head: 1000 })).toBe(0.25);
    expect(syncFraction({ cursor: 600, head: 1000 }, 200)).toBe(0.5);
    expect(syncWords({ cursor: 1200, head: 4800 })).toBe("Syncing · 1,200 of 4,800 changes");
  });

  it("is unknown before the first page and for an empty feed", () => {
    expect(syncFraction(null)).toBeNull();
    expect(syncFraction({ cursor: 0, head: 0 })).toBeNull();
    expect(syncWords(null)).toBe("Syncing…");
  });

  it("never leaves 0..1, even when changes land during the sync", () => {
    expect(syncFraction({ cursor: 1100, head: 1000 })).toBe(1);
    expect(syncFraction({ cursor: 10, head: 1000 }, 50)).toBe(0);
  });
});

describe("which sync rounds refresh the views", () => {
  it("refreshes after changes were applied, sent, or the profile came back online", () => {
    expect(syncChangedData({ replayed: false, applied: 3, wasOnline: true })).toBe(true);
    expect(syncChangedData({ replayed: true, applied: null, wasOnline: false })).toBe(true);
    expect(syncChangedData({ replayed: false, applied: 0, wasOnline: false })).toBe(true);
  });

  it("leaves the views alone when nothing changed or the platform is still down", () => {
    expect(syncChangedData({ replayed: false, applied: 0, wasOnline: true })).toBe(false);
    expect(syncChangedData({ replayed: false, applied: null, wasOnline: false })).toBe(false);
    expect(syncChangedData({ replayed: false, applied: null, wasOnline: true })).toBe(false);
  });
});
