import { describe, expect, it } from "vitest";
import { frameStats } from "./bench";

describe("frame statistics of a scroll", () => {
  it("counts frames over 32 ms and names the slowest by position", () => {
    const intervals = [16, 17, 40, 16, 33, 16, 20];
    const stats = frameStats(intervals);
    expect(stats.frames).toBe(7);
    expect(stats.max).toBe(40);
    expect(stats.over32).toBe(2);
    expect(stats.p50).toBe(17);
    expect(stats.slowest.slice(0, 3)).toEqual([
      [2, 40],
      [4, 33],
      [6, 20],
    ]);
  });

  it("reports zeros for no frames", () => {
    expect(frameStats([])).toEqual({ frames: 0, max: 0, p99: 0, p50: 0, over32: 0, slowest: [] });
  });
});
