import { describe, expect, it } from "vitest";
import { syncFraction, syncWords } from "./progress";

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
