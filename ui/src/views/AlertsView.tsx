import { useEffect, useRef, useState } from "react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { listen } from "@tauri-apps/api/event";
import type { AlertRuleView } from "../bindings/AlertRuleView";
import type { AlertsView as AlertsData } from "../bindings/AlertsView";
import type { GroupRollup } from "../bindings/GroupRollup";
import type { LiveEvent } from "../bindings/LiveEvent";
import type { LiveStatus } from "../bindings/LiveStatus";
import type { RuleWrite } from "../bindings/RuleWrite";
import { api, describeError, toIpcError, type IpcError } from "../ipc";
import {
  alertsLiveWords,
  appendPage,
  bumpOpen,
  clearedWords,
  conditionWords,
  draftOf,
  editOf,
  EMPTY_FORM,
  formOf,
  NO_HISTORY,
  openWords,
  prependLive,
  targetOptions,
  targetWords,
  type ConditionKind,
  type DurationUnit,
  type HistoryState,
  type RuleForm,
} from "../alerts";
import { when } from "../devices";
import { AgeNote, ConfirmDialog, Dialog, ErrorNote } from "./Dialog";

/** History rows per page. */
const HISTORY_PAGE = 50;
/** The desktop app's channel for alert events (src-tauri/src/commands/devices.rs). */
const LIVE_ALERT = "live-alert";
/** How long a row that arrived live stays marked new. */
const FRESH_MS = 8_000;

/** Calls `onEvent` with each live alert event while the view is mounted. */
function useLiveAlerts(onEvent: (e: LiveEvent) => void): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    const unlisten = listen<LiveEvent>(LIVE_ALERT, (e) => handler.current(e.payload));
    return () => {
      void unlisten.then((f) => f());
    };
  }, []);
}

/** The rule actions' errors, by code. */
function ruleError(e: IpcError): string {
  switch (e.code) {
    case "offline":
      return "The platform cannot be reached. Alert rules are changed on the platform only (they are not queued); try again when it answers.";
    case "forbidden":
      return "Your role does not allow this change to alert rules.";
    case "not_found":
      return "This rule no longer exists on the platform. Sync to bring the list up to date.";
    default:
      return describeError(e);
  }
}

/** Alert rules (the platform's, or the cache's when offline) and the history of fired alerts. */
export function AlertsView({ ageText }: { ageText: string }) {
  const queryClient = useQueryClient();
  const view = useQuery({
    queryKey: ["alerts"],
    queryFn: api.alerts,
    placeholderData: keepPreviousData,
    refetchInterval: 30_000,
  });
  const [editing, setEditing] = useState<AlertRuleView | "new" | null>(null);
  const [deleting, setDeleting] = useState<AlertRuleView | null>(null);
  const [toggling, setToggling] = useState<number | null>(null);
  const [conflict, setConflict] = useState<{ mine: string; current: AlertRuleView | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Alerts start with live presence: the same connection (started here too, as Devices does).
  const [liveStatus, setLiveStatus] = useState<LiveStatus | null>(null);
  const [startError, setStartError] = useState<IpcError | null>(null);
  useEffect(() => {
    api.startLive().then(
      () => setStartError(null),
      (raw) => setStartError(toIpcError(raw)),
    );
  }, []);
  useLiveAlerts((e) => {
    if (e.kind === "alert_status") {
      setLiveStatus(e);
    } else if (e.kind === "alert") {
      // The rule's open count moves without reading the history again.
      queryClient.setQueryData<AlertsData>(["alerts"], (old) => (old ? { ...old, rules: bumpOpen(old.rules, e) } : old));
    }
  });

  const refresh = () => void queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "welcome" });

  const data = view.data;
  if (view.error && !data) return <ErrorNote message={describeError(toIpcError(view.error))} />;

  const online = data ? data.age.online : true;
  const rights = data?.rights;
  const offlineWhy = "Offline: creating, changing and deleting alert rules needs the platform (they are not queued).";
  const live = liveStatus ?? data?.live ?? null;
  const liveWords = live ? alertsLiveWords(live) : null;

  const toggle = async (rule: AlertRuleView) => {
    setToggling(rule.id);
    setError(null);
    setConflict(null);
    try {
      const outcome = await api.updateAlertRule(rule.id, rule.version, {
        name: null,
        condition: null,
        target: null,
        enabled: !rule.enabled,
      });
      if (outcome.outcome === "conflict") {
        setConflict({ mine: rule.enabled ? "Disable" : "Enable", current: outcome.current });
      }
    } catch (raw) {
      setError(ruleError(toIpcError(raw)));
    } finally {
      setToggling(null);
      refresh();
    }
  };

  return (
    <section className="view alerts-view" aria-labelledby="alerts-title">
      <div className="view-head">
        <div>
          <h1 id="alerts-title">Alerts</h1>
          <p className="muted">
            Rules the platform evaluates on every device&apos;s telemetry and presence, and the alerts they fired. A
            rule fires once per episode and clears when its condition stops holding.
          </p>
        </div>
        <div className="head-badges">
          {live && liveWords && (
            <span
              className={`live-badge ${liveWords.live ? "live" : "not-live"}`}
              data-testid="alerts-live"
              data-code={live.code ?? undefined}
              role="status"
              title={startError ? describeError(startError) : undefined}
            >
              <span className="dot" aria-hidden="true" />
              {liveWords.text}
            </span>
          )}
          {data && (
            <span className={`live-badge ${data.from_platform ? "live" : "not-live"}`} data-testid="alerts-source" role="status">
              <span className="dot" aria-hidden="true" />
              {data.from_platform ? "Rules from the platform" : "Rules from the cache"}
            </span>
          )}
          <AgeNote text={ageText} />
        </div>
      </div>

      <div className="toolbar">
        {rights?.create && (
          <button
            type="button"
            className="primary"
            disabled={!online}
            title={online ? undefined : offlineWhy}
            onClick={() => {
              setError(null);
              setConflict(null);
              setEditing("new");
            }}
            data-testid="new-alert-rule"
          >
            New rule…
          </button>
        )}
        {!online && (rights?.create || rights?.update || rights?.delete) && (
          <span className="muted" data-code="offline" data-testid="alerts-offline-why">
            {offlineWhy}
          </span>
        )}
        {data && !rights?.create && !rights?.update && !rights?.delete && (
          <span className="muted">Your role may read alert rules but not change them.</span>
        )}
        <span className="muted" aria-live="polite" data-testid="alerts-count">
          {data ? `${data.rules.length} ${data.rules.length === 1 ? "rule" : "rules"}` : "Loading…"}
        </span>
      </div>
      {error && <ErrorNote message={error} />}
      {view.error && <ErrorNote message={describeError(toIpcError(view.error))} />}
      {conflict && (
        <div className="banner warn alerts-conflict" role="alert" data-testid="alerts-conflict">
          <span>
            {conflict.mine} was not applied: the rule changed on the platform meanwhile.
            {conflict.current
              ? ` It is now “${conflict.current.name}”, ${conditionWords(conflict.current.condition)}, ${
                  conflict.current.enabled ? "enabled" : "disabled"
                } (version ${conflict.current.version}). The list shows it as it is now; try again on it.`
              : " It has been deleted."}
          </span>
          <button type="button" onClick={() => setConflict(null)}>
            Dismiss
          </button>
        </div>
      )}

      <div className="table-scroll alerts-rules">
        <table className="list alerts-list" aria-label="Alert rules">
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Condition</th>
              <th scope="col">Watches</th>
              <th scope="col">State</th>
              <th scope="col">Open alerts</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data && data.rules.length === 0 && (
              <tr>
                <td colSpan={6} className="empty">
                  {rights?.list === false
                    ? "Your role may not list alert rules (alerts.list)."
                    : "No alert rules yet."}
                </td>
              </tr>
            )}
            {(data?.rules ?? []).map((r) => (
              <tr key={r.id} className={r.enabled ? "" : "dim"} data-testid={`alert-rule-${r.name}`}>
                <td className="alert-rule-name">{r.name}</td>
                <td>{conditionWords(r.condition)}</td>
                <td>{targetWords(r.target)}</td>
                <td>
                  <span className={`state-tag alert-${r.enabled ? "enabled" : "disabled"}`}>
                    {r.enabled ? "enabled" : "disabled"}
                  </span>
                </td>
                <td>
                  {r.open_alerts === null ? (
                    <span className="muted" title={online ? "Your role may not read the history" : "Needs the platform"}>
                      —
                    </span>
                  ) : (
                    <span className={r.open_alerts > 0 ? "alert-open-count some" : "alert-open-count"}>
                      {openWords(r, data?.open_counts_partial ?? false)}
                    </span>
                  )}
                </td>
                <td className="row-actions">
                  {rights?.update && (
                    <>
                      <button
                        type="button"
                        className="small"
                        disabled={!online || toggling === r.id}
                        title={online ? undefined : offlineWhy}
                        onClick={() => void toggle(r)}
                      >
                        {r.enabled ? "Disable" : "Enable"}
                      </button>
                      <button
                        type="button"
                        className="small"
                        disabled={!online}
                        title={online ? undefined : offlineWhy}
                        onClick={() => {
                          setError(null);
                          setConflict(null);
                          setEditing(r);
                        }}
                      >
                        Edit…
                      </button>
                    </>
                  )}
                  {rights?.delete && (
                    <button
                      type="button"
                      className="small danger-quiet"
                      disabled={!online}
                      title={online ? undefined : offlineWhy}
                      onClick={() => {
                        setError(null);
                        setConflict(null);
                        setDeleting(r);
                      }}
                    >
                      Delete…
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {data && <History data={data} />}

      {editing !== null && data && (
        <RuleDialog
          rule={editing === "new" ? null : editing}
          targets={data.targets}
          onClose={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            refresh();
          }}
        />
      )}
      {deleting && (
        <DeleteDialog
          rule={deleting}
          onClose={() => setDeleting(null)}
          onDone={() => {
            setDeleting(null);
            refresh();
          }}
        />
      )}
    </section>
  );
}

function History({ data }: { data: AlertsData }) {
  const [rule, setRule] = useState<number | null>(null);
  const [device, setDevice] = useState<number | null>(null);
  const [history, setHistory] = useState<HistoryState>(NO_HISTORY);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<IpcError | null>(null);
  const [now, setNow] = useState(() => new Date());
  const [fresh, setFresh] = useState<ReadonlySet<number>>(() => new Set());
  const online = data.age.online;
  const allowed = data.rights.history;
  const filters = useRef({ rule, device });
  filters.current = { rule, device };
  useLiveAlerts((e) => {
    if (e.kind !== "alert" || !online || !allowed) return;
    const { kind: _kind, ...row } = e;
    setHistory((h) => prependLive(h, row, filters.current));
    setNow(new Date());
    setFresh((f) => new Set(f).add(row.id));
    window.setTimeout(() => {
      setFresh((f) => {
        const next = new Set(f);
        next.delete(row.id);
        return next;
      });
    }, FRESH_MS);
  });

  const load = async (before: number | null, from: HistoryState) => {
    setLoading(true);
    try {
      const page = await api.alertHistory({ rule, device, before, limit: HISTORY_PAGE });
      // An older page goes under what is shown now (live rows included); a first page replaces it.
      setHistory((shown) => appendPage(before === null ? from : shown, page));
      setError(null);
    } catch (raw) {
      setError(toIpcError(raw));
    } finally {
      setLoading(false);
      setNow(new Date());
    }
  };

  useEffect(() => {
    if (!online || !allowed) return;
    void load(null, NO_HISTORY);
    // Reloaded from the newest when a filter changes or the platform comes back.
  }, [rule, device, online, allowed]);

  const format = (ms: number) => when(ms, now);

  return (
    <section className="alerts-history" aria-labelledby="alerts-history-title">
      <div className="toolbar">
        <h2 id="alerts-history-title">History</h2>
        <label className="inline">
          Rule
          <select
            value={rule ?? ""}
            onChange={(e) => setRule(e.target.value === "" ? null : Number(e.target.value))}
            disabled={!online || !allowed}
            data-testid="history-rule"
          >
            <option value="">All rules</option>
            {data.rules.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          Device
          <select
            value={device ?? ""}
            onChange={(e) => setDevice(e.target.value === "" ? null : Number(e.target.value))}
            disabled={!online || !allowed}
            data-testid="history-device"
          >
            <option value="">All devices</option>
            {data.devices.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        {online && allowed && (
          <button type="button" onClick={() => void load(null, NO_HISTORY)} disabled={loading}>
            Refresh
          </button>
        )}
        <span className="muted" aria-live="polite" data-testid="history-count">
          {online && allowed ? (loading ? "Loading…" : `${history.rows.length} shown, newest first`) : ""}
        </span>
      </div>
      {!allowed ? (
        <p className="empty">Your role may not read the alert history (alerts.history).</p>
      ) : !online ? (
        <p className="empty" data-code="offline" data-testid="history-offline">
          The alert history needs the platform: it is not kept in this computer&apos;s cache. It shows again when the
          platform answers.
        </p>
      ) : (
        <>
          {error && <ErrorNote message={describeError(error)} />}
          <div className="table-scroll">
            <table className="list compact alerts-history-list" aria-label="Alert history">
              <thead>
                <tr>
                  <th scope="col">Fired</th>
                  <th scope="col">Device</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Value / reason</th>
                  <th scope="col">Cleared</th>
                </tr>
              </thead>
              <tbody>
                {!loading && history.rows.length === 0 && (
                  <tr>
                    <td colSpan={5} className="empty">
                      {rule !== null || device !== null ? "No alert matches these filters." : "No alert has fired yet."}
                    </td>
                  </tr>
                )}
                {history.rows.map((a) => (
                  <tr
                    key={a.id}
                    data-testid={`alert-${a.id}`}
                    className={fresh.has(a.id) ? "alert-fresh" : undefined}
                    data-live={fresh.has(a.id) ? "new" : undefined}
                  >
                    <td title={new Date(a.fired_at).toLocaleString()}>{format(a.fired_at)}</td>
                    <td>{a.device_name}</td>
                    <td>{a.rule_name}</td>
                    <td title={a.message}>{a.reason}</td>
                    <td>
                      {a.cleared_at === null ? (
                        <span className="state-tag alert-open">open</span>
                      ) : (
                        <span title={new Date(a.cleared_at).toLocaleString()}>{clearedWords(a, format)}</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {history.before !== null && (
            <button
              type="button"
              className="load-older"
              disabled={loading}
              onClick={() => void load(history.before, history)}
              data-testid="history-older"
            >
              Load older
            </button>
          )}
        </>
      )}
    </section>
  );
}

function conflictNote(outcome: RuleWrite): AlertRuleView | null | undefined {
  return outcome.outcome === "conflict" ? outcome.current : undefined;
}

/** New rule, or edit one on its version; a 412 shows the platform's rule and retries on it. */
function RuleDialog({
  rule,
  targets,
  onClose,
  onDone,
}: {
  rule: AlertRuleView | null;
  targets: GroupRollup[];
  onClose: () => void;
  onDone: () => void;
}) {
  const [form, setForm] = useState<RuleForm>(() => (rule ? formOf(rule) : EMPTY_FORM));
  const [base, setBase] = useState<AlertRuleView | null>(rule);
  const [theirs, setTheirs] = useState<AlertRuleView | null>(null);
  const [pending, setPending] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const options = targetOptions(targets);
  const set = <K extends keyof RuleForm>(key: K, value: RuleForm[K]) => setForm((f) => ({ ...f, [key]: value }));

  const save = async () => {
    const draft = draftOf(form, targets);
    if (typeof draft === "string") {
      setProblem(draft);
      return;
    }
    setPending(true);
    setProblem(null);
    try {
      if (base === null) {
        await api.createAlertRule(draft);
        onDone();
        return;
      }
      const edit = editOf(base, draft);
      if (edit === null) {
        onDone();
        return;
      }
      const outcome = await api.updateAlertRule(base.id, base.version, edit);
      const current = conflictNote(outcome);
      if (current === undefined) {
        onDone();
        return;
      }
      if (current === null) {
        setProblem("This rule was deleted on the platform meanwhile.");
        return;
      }
      // Retrying applies my changes over the platform's rule, based on its version.
      setTheirs(current);
      setBase(current);
    } catch (raw) {
      setProblem(ruleError(toIpcError(raw)));
    } finally {
      setPending(false);
    }
  };

  return (
    <Dialog
      title={rule ? `Edit alert rule ${rule.name}` : "New alert rule"}
      onClose={onClose}
      wide
      footer={
        <>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="primary" disabled={pending} onClick={() => void save()} data-testid="save-alert-rule">
            {theirs ? "Save over the current version" : rule ? "Save changes" : "Create rule"}
          </button>
        </>
      }
    >
      <form
        className="alert-rule-form"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label>
          Name
          <input
            type="text"
            value={form.name}
            maxLength={100}
            autoFocus
            onChange={(e) => set("name", e.target.value)}
            data-testid="alert-rule-name"
          />
        </label>
        <fieldset>
          <legend>Condition</legend>
          <div className="alert-form-row">
            <label>
              Fires when
              <select
                value={form.kind}
                onChange={(e) => set("kind", e.target.value as ConditionKind)}
                data-testid="alert-rule-kind"
              >
                <option value="above">a telemetry value is above</option>
                <option value="below">a telemetry value is below</option>
                <option value="offline">the device is offline for more than</option>
              </select>
            </label>
            {form.kind === "offline" ? (
              <>
                <label>
                  Time offline
                  <input
                    type="text"
                    inputMode="numeric"
                    value={form.duration}
                    onChange={(e) => set("duration", e.target.value)}
                    aria-describedby="alert-duration-help"
                    data-testid="alert-rule-duration"
                  />
                </label>
                <label>
                  Unit
                  <select value={form.unit} onChange={(e) => set("unit", e.target.value as DurationUnit)}>
                    <option value="s">seconds</option>
                    <option value="min">minutes</option>
                    <option value="h">hours</option>
                  </select>
                </label>
              </>
            ) : (
              <>
                <label>
                  Telemetry field
                  <input
                    type="text"
                    value={form.field}
                    spellCheck={false}
                    onChange={(e) => set("field", e.target.value)}
                    aria-describedby="alert-field-help"
                    data-testid="alert-rule-field"
                  />
                </label>
                <label>
                  Threshold
                  <input
                    type="text"
                    inputMode="decimal"
                    value={form.threshold}
                    onChange={(e) => set("threshold", e.target.value)}
                    data-testid="alert-rule-threshold"
                  />
                </label>
              </>
            )}
          </div>
          <p className="muted alert-form-help" id={form.kind === "offline" ? "alert-duration-help" : "alert-field-help"}>
            {form.kind === "offline"
              ? "A whole number; up to a week."
              : "A field of the device's telemetry, parts joined by dots: temp, motor.temp, line-2.pressure."}
          </p>
        </fieldset>
        <label>
          Watches
          <select value={form.target} onChange={(e) => set("target", e.target.value)} data-testid="alert-rule-target">
            <option value="all">All devices</option>
            {options.groups.length > 0 && (
              <optgroup label="Logical group">
                {options.groups.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </optgroup>
            )}
            {options.nodes.length > 0 && (
              <optgroup label="Hierarchy subtree">
                {options.nodes.map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </optgroup>
            )}
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={form.enabled} onChange={(e) => set("enabled", e.target.checked)} />
          Enabled
        </label>
        {theirs && (
          <div className="alerts-dialog-conflict" role="alert" data-testid="alert-rule-conflict">
            <p>
              <strong>This rule changed on the platform meanwhile.</strong> Your changes were not saved. The platform
              now has:
            </p>
            <dl className="alert-current">
              <div>
                <dt>Name</dt>
                <dd>{theirs.name}</dd>
              </div>
              <div>
                <dt>Condition</dt>
                <dd>{conditionWords(theirs.condition)}</dd>
              </div>
              <div>
                <dt>Watches</dt>
                <dd>{targetWords(theirs.target)}</dd>
              </div>
              <div>
                <dt>State</dt>
                <dd>
                  {theirs.enabled ? "enabled" : "disabled"} (version {theirs.version})
                </dd>
              </div>
            </dl>
            <p className="muted">Saving again applies what differs in this form to that version.</p>
          </div>
        )}
        {problem && (
          <p className="error-note" role="alert" data-testid="alert-rule-error">
            {problem}
          </p>
        )}
        <button type="submit" hidden tabIndex={-1} aria-hidden="true" />
      </form>
    </Dialog>
  );
}

function DeleteDialog({ rule, onClose, onDone }: { rule: AlertRuleView; onClose: () => void; onDone: () => void }) {
  const [base, setBase] = useState(rule);
  const [changed, setChanged] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <ConfirmDialog
      title={`Delete alert rule ${rule.name}?`}
      confirmLabel={changed ? "Delete the current version" : "Delete rule"}
      danger
      onCancel={onClose}
      onConfirm={async () => {
        setProblem(null);
        try {
          const outcome = await api.deleteAlertRule(base.id, base.version);
          const current = conflictNote(outcome);
          if (current === undefined) onDone();
          else if (current === null) onDone();
          else {
            setBase(current);
            setChanged(true);
          }
        } catch (raw) {
          setProblem(ruleError(toIpcError(raw)));
        }
      }}
    >
      <p>
        The rule stops firing at once and its open alerts are cleared. Alerts it fired stay in the history.
      </p>
      {changed && (
        <p className="error-note" role="alert">
          The rule changed on the platform meanwhile; it is now “{base.name}”, {conditionWords(base.condition)},{" "}
          watching {targetWords(base.target)}, {base.enabled ? "enabled" : "disabled"}. Delete it anyway?
        </p>
      )}
      {problem && (
        <p className="error-note" role="alert">
          {problem}
        </p>
      )}
    </ConfirmDialog>
  );
}
