// The idle lock: after the org's idle timeout without input the window locks.

import { useEffect, useRef } from "react";

export const ACTIVITY_EVENTS = ["pointerdown", "pointermove", "keydown", "wheel", "touchstart"] as const;

/** A deadline that moves on with every activity; `expired` tells whether it passed. */
export class IdleClock {
  private last: number;

  constructor(
    private readonly timeoutMs: number,
    now: number,
  ) {
    this.last = now;
  }

  touch(now: number): void {
    this.last = now;
  }

  expired(now: number): boolean {
    return now - this.last >= this.timeoutMs;
  }

  remainingMs(now: number): number {
    return Math.max(0, this.timeoutMs - (now - this.last));
  }
}

/** Calls `onIdle` once after `seconds` without input while `active`. */
export function useIdleLock(seconds: number, active: boolean, onIdle: () => void): void {
  const onIdleRef = useRef(onIdle);
  onIdleRef.current = onIdle;

  useEffect(() => {
    if (!active) return;
    const clock = new IdleClock(seconds * 1000, Date.now());
    const touch = () => clock.touch(Date.now());
    for (const name of ACTIVITY_EVENTS) window.addEventListener(name, touch, { passive: true });
    const timer = window.setInterval(
      () => {
        if (clock.expired(Date.now())) {
          window.clearInterval(timer);
          onIdleRef.current();
        }
      },
      Math.min(1000, seconds * 250),
    );
    return () => {
      window.clearInterval(timer);
      for (const name of ACTIVITY_EVENTS) window.removeEventListener(name, touch);
    };
  }, [seconds, active]);
}
