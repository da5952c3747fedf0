import { useMemo, useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, describeError, toIpcError, type ResourceRef } from "../ipc";
import { AgeNote, ErrorNote } from "./Dialog";

const SCOPES: Array<{ scope: string; label: string }> = [
  { scope: "org", label: "Organization permissions" },
  { scope: "project", label: "Project actions" },
  { scope: "asset", label: "Asset actions" },
];

/** Reverse lookup: pick an action from the catalog and a resource; every principal (people and
 *  API keys) who may do it is listed with the reasons, from the cache. */
export function WhoCanView({ ageText }: { ageText: string }) {
  const actions = useQuery({ queryKey: ["actions"], queryFn: api.actions, staleTime: Infinity });
  const assets = useQuery({ queryKey: ["assets"], queryFn: api.assets });
  const projects = useQuery({ queryKey: ["projects"], queryFn: api.projects });
  const [action, setAction] = useState("asset.run");
  const [target, setTarget] = useState<number | null>(null);
  const [asked, setAsked] = useState<{ action: string; resource: ResourceRef } | null>(null);

  const scope = (actions.data ?? []).find((a) => a.name === action)?.scope ?? "org";
  const targets = useMemo(() => {
    if (scope === "project") return (projects.data ?? []).map((p) => ({ id: p.id, label: p.name, group: "Projects" }));
    if (scope === "asset")
      return (assets.data ?? []).map((a) => ({ id: a.id, label: `${a.name} (${a.kind})`, group: a.project_name }));
    return [];
  }, [scope, projects.data, assets.data]);
  const chosen = targets.some((t) => t.id === target) ? target : (targets[0]?.id ?? null);
  const grouped = useMemo(() => {
    const by = new Map<string, typeof targets>();
    for (const t of targets) by.set(t.group, [...(by.get(t.group) ?? []), t]);
    return [...by.entries()];
  }, [targets]);

  const answer = useQuery({
    queryKey: ["who_can", asked?.action, asked?.resource],
    queryFn: () => (asked ? api.whoCan(asked.action, asked.resource) : Promise.reject(new Error("nothing asked"))),
    enabled: asked !== null,
  });
  // People a queued change touches, marked as in People (the effective matrix carries the mark).
  const matrix = useQuery({ queryKey: ["effective_matrix", ""], queryFn: () => api.effectiveMatrix("") });
  const pending = useMemo(
    () => new Set((matrix.data?.rows ?? []).filter((r) => r.pending).map((r) => r.name)),
    [matrix.data],
  );
  const sorted = useMemo(
    () => [...(answer.data ?? [])].sort((a, b) => a.principal.localeCompare(b.principal)),
    [answer.data],
  );

  const ask = (e: FormEvent) => {
    e.preventDefault();
    const resource: ResourceRef =
      scope === "org" || chosen === null ? { kind: "org" } : { kind: scope === "project" ? "project" : "asset", id: chosen };
    setAsked({ action, resource });
  };

  const loadError = actions.error ?? assets.error ?? projects.error;
  if (loadError) return <ErrorNote message={describeError(toIpcError(loadError))} />;
  const actionLabel = (actions.data ?? []).find((a) => a.name === asked?.action)?.label ?? asked?.action;

  return (
    <section className="view" aria-labelledby="whocan-title">
      <div className="view-head">
        <div>
          <h1 id="whocan-title">Who can</h1>
          <p className="muted">
            Everyone who may do an action on the organization, a project or an asset, and why: role, cascade, group
            or grant.
          </p>
        </div>
        <AgeNote text={ageText} />
      </div>
      <form className="explain-form card" onSubmit={ask}>
        <label>
          Action
          <select value={action} onChange={(e) => setAction(e.target.value)}>
            {SCOPES.map((s) => (
              <optgroup key={s.scope} label={s.label}>
                {(actions.data ?? [])
                  .filter((a) => a.scope === s.scope)
                  .map((a) => (
                    <option key={a.name} value={a.name}>
                      {a.label} ({a.name})
                    </option>
                  ))}
              </optgroup>
            ))}
          </select>
        </label>
        {scope !== "org" && (
          <label>
            {scope === "project" ? "Project" : "Asset"}
            <select value={chosen ?? ""} onChange={(e) => setTarget(Number(e.target.value))}>
              {grouped.map(([group, items]) => (
                <optgroup key={group} label={group}>
                  {items.map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.label}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
          </label>
        )}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={scope !== "org" && chosen === null}>
            Show who can
          </button>
        </div>
      </form>
      {asked && answer.error && <ErrorNote message={describeError(toIpcError(answer.error))} />}
      {asked && answer.data && (
        <div className="card" aria-live="polite">
          <h2>
            {sorted.length} {sorted.length === 1 ? "principal" : "principals"} may {actionLabel}
            {sorted[0] ? ` on ${sorted[0].resource}` : ""}
          </h2>
          {sorted.length === 0 ? (
            <p className="muted">No one may do this.</p>
          ) : (
            <table className="list compact">
              <thead>
                <tr>
                  <th scope="col">Who</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {sorted.map((x) => (
                  <tr key={x.principal}>
                    <td>
                      {x.principal}
                      {pending.has(x.principal) && <span className="tag pending">queued change</span>}
                    </td>
                    <td>
                      <ul className="grant-list">
                        {x.reasons.map((r, i) => (
                          <li key={`${r.kind}-${i}`}>
                            <span className="reason-kind">{r.kind.replaceAll("_", " ")}</span> {r.message}
                          </li>
                        ))}
                      </ul>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}
