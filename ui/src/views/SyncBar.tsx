import { useEffect, useState } from "react";
import { listen } from "@tauri-apps/api/event";
import type { SyncProgress } from "../bindings/SyncProgress";
import { syncFraction, syncWords } from "../progress";

/** Follows the console's `sync-progress` events while `active`; a bar with its words. */
export function useSyncProgress(active: boolean): SyncProgress | null {
  const [progress, setProgress] = useState<SyncProgress | null>(null);
  useEffect(() => {
    if (!active) {
      setProgress(null);
      return;
    }
    const unlisten = listen<SyncProgress>("sync-progress", (e) => setProgress(e.payload));
    return () => {
      void unlisten.then((f) => f());
    };
  }, [active]);
  return progress;
}

export function SyncBar({ progress }: { progress: SyncProgress | null }) {
  const fraction = syncFraction(progress);
  const words = syncWords(progress);
  return (
    <div className="sync-bar" data-testid="sync-progress">
      {fraction === null ? (
        <div className="progress indeterminate" role="progressbar" aria-label={words} />
      ) : (
        <div
          className="progress"
          role="progressbar"
          aria-label={words}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(fraction * 100)}
        >
          <div className="progress-fill" style={{ width: `${fraction * 100}%` }} />
        </div>
      )}
      <p className="muted small">{words}</p>
    </div>
  );
}
