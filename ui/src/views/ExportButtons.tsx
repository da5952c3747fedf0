import { useState } from "react";
import { api, describeError, type IpcError, toIpcError } from "../ipc";

/** The CSV exports for auditors: the save dialog picks the file; the written path is shown. */
export function ExportButtons() {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ path: string } | { error: IpcError } | null>(null);
  const run = async (kind: "role_assignments" | "effective_matrix") => {
    setBusy(true);
    try {
      const path = await api.exportCsv(kind);
      setResult(path === null ? null : { path });
    } catch (raw) {
      setResult({ error: toIpcError(raw) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="export-buttons" role="group" aria-label="Export as CSV">
      <button type="button" className="small" disabled={busy} onClick={() => void run("role_assignments")}>
        Export role assignments (CSV)
      </button>
      <button type="button" className="small" disabled={busy} onClick={() => void run("effective_matrix")}>
        Export effective access (CSV)
      </button>
      {result && "path" in result && (
        <p className="muted small" role="status">
          Saved to <code>{result.path}</code>
        </p>
      )}
      {result && "error" in result && (
        <p className="error-note small" role="alert">
          {describeError(result.error)}
        </p>
      )}
    </div>
  );
}
