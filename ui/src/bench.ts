// Opt-in measurements for tests/e2e/bench-console.sh. Off unless the app runs with
// STEWARD_BENCH (the welcome carries it): `startup` reports once the role matrix is painted,
// `scroll` scrolls the effective matrix top to bottom and reports the frame intervals. Both end
// with `bench_report`, which prints one JSON line and exits the app.

import { useQuery } from "@tanstack/react-query";
import { api } from "./ipc";

/** The benchmark this run measures, if any. */
export function useBenchMode(): string | null {
  const welcome = useQuery({ queryKey: ["welcome"], queryFn: api.welcome, staleTime: Infinity });
  return welcome.data?.bench ?? null;
}

const marks: Record<string, number> = {};

/** Notes when a start-up step happened (ms since the page's navigation start); sent with the report. */
export function benchMark(name: string): void {
  marks[name] ??= Math.round(performance.now());
}

/** The marks so far, and the page clock now. */
export function benchMarks(): Record<string, number> {
  return { ...marks, reported: Math.round(performance.now()) };
}

/** Runs `then` once the current render is on screen: two animation frames later. */
export function afterPaint(then: () => void): void {
  requestAnimationFrame(() => requestAnimationFrame(then));
}

/** max, p99 and p50 of frame intervals in ms, how many exceeded 32 ms, and where the five
 *  slowest frames were (frame index and ms), to tell a warm-up from a pause mid-scroll. */
export function frameStats(intervals: number[]): {
  frames: number;
  max: number;
  p99: number;
  p50: number;
  over32: number;
  slowest: Array<[number, number]>;
} {
  const sorted = [...intervals].sort((a, b) => a - b);
  const slowest = intervals
    .map((ms, i): [number, number] => [i, Math.round(ms)])
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    frames: sorted.length,
    max: sorted[sorted.length - 1] ?? 0,
    p99: at(0.99),
    p50: at(0.5),
    over32: sorted.filter((ms) => ms > 32).length,
    slowest,
  };
}

/** Scrolls `el` from top to bottom by `step` px per animation frame, timing every frame. */
export function scrollThrough(el: HTMLElement, step: number, done: (intervals: number[]) => void): void {
  const intervals: number[] = [];
  el.scrollTop = 0;
  let last = performance.now();
  const frame = (now: number) => {
    intervals.push(now - last);
    last = now;
    if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) {
      done(intervals.slice(1));
      return;
    }
    el.scrollTop += step;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame((now) => {
    last = now;
    requestAnimationFrame(frame);
  });
}
