import { describe, expect, it } from "vitest";
import type { DataAge } from "./bindings/DataAge";
import { ago, clockTime, formatDataAge, formatQueue, isStale } from "./format";

const age = (over: Partial<DataAge>): DataAge => ({
  synced_at: null,
  online: true,
  pending: 0,
  conflicts: 0,
  ...over,
});

describe("formatDataAge", () => {
  const now = new Date(2026, 10, 23, 13, 50);

  it("says when and how long ago, and whether the platform answers", () => {
    const syncedAt = new Date(2026, 10, 23, 10, 42).getTime();
    expect(formatDataAge(age({ synced_at: syncedAt, online: false }), now)).toBe(
      "as of 10:42, 3 h ago — offline",
    );
    expect(formatDataAge(age({ synced_at: now.getTime() - 20_000 }), now)).toBe(
      "as of 13:49, just now — online",
    );
  });

  it("names the day when the data is from another day", () => {
    const syncedAt = new Date(2026, 10, 20, 9, 5).getTime();
    expect(formatDataAge(age({ synced_at: syncedAt, online: false }), now)).toBe(
      "as of 20 Nov 09:05, 3 d ago — offline",
    );
  });

  it("says so when the cache never synced", () => {
    expect(formatDataAge(age({ online: false }), now)).toBe("never synced — offline");
  });
});

describe("ago", () => {
  it("rounds down to minutes, hours and days", () => {
    expect(ago(59_000)).toBe("just now");
    expect(ago(5 * 60_000 + 1)).toBe("5 min ago");
    expect(ago(60 * 60_000)).toBe("1 h ago");
    expect(ago(47 * 3_600_000)).toBe("47 h ago");
    expect(ago(49 * 3_600_000)).toBe("2 d ago");
    expect(ago(-5_000)).toBe("just now");
  });
});

describe("clockTime", () => {
  it("pads hours and minutes", () => {
    const now = new Date(2026, 0, 2, 8, 0);
    expect(clockTime(new Date(2026, 0, 2, 7, 3), now)).toBe("07:03");
    expect(clockTime(new Date(2025, 11, 31, 23, 59), now)).toBe("31 Dec 23:59");
  });
});

describe("formatQueue and isStale", () => {
  it("counts queued changes and conflicts", () => {
    expect(formatQueue(age({}))).toBeNull();
    expect(formatQueue(age({ pending: 2 }))).toBe("2 queued");
    expect(formatQueue(age({ pending: 1, conflicts: 1 }))).toBe("1 queued, 1 conflict");
    expect(formatQueue(age({ conflicts: 3 }))).toBe("3 conflicts");
  });

  it("calls data older than an hour stale", () => {
    const now = new Date(2026, 10, 23, 12, 0);
    expect(isStale(age({ synced_at: now.getTime() - 59 * 60_000 }), now)).toBe(false);
    expect(isStale(age({ synced_at: now.getTime() - 61 * 60_000 }), now)).toBe(true);
    expect(isStale(age({}), now)).toBe(true);
  });
});
