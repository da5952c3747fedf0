import { useMemo, useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import type { ActionOption } from "../bindings/ActionOption";
import type { Explanation } from "../bindings/Explanation";
import { api, describeError, toIpcError, type ResourceRef } from "../ipc";
import { AgeNote, ErrorNote } from "./Dialog";

type Question = { user: number; action: string; resource: ResourceRef };

const SCOPES: Array<{ scope: string; label: string }> = [
  { scope: "org", label: "Organization permissions" },
  { scope: "project", label: "Project actions" },
  { scope: "asset", label: "Asset actions" },
];

function scopeOf(actions: readonly ActionOption[], name: string): string {
  return actions.find((a) => a.name === name)?.scope ?? "org";
}

/** "Why / why not": pick a person, an action and a resource; the resolver's reasons answer,
 *  from the cache, so it works offline too. */
export function ExplainerView({ ageText }: { ageText: string }) {
  const people = useQuery({ queryKey: ["people"], queryFn: api.people });
  const actions = useQuery({ queryKey: ["actions"], queryFn: api.actions, staleTime: Infinity });
  const assets = useQuery({ queryKey: ["assets"], queryFn: api.assets });
  const projects = useQuery({ queryKey: ["projects"], queryFn: api.projects });

  const [user, setUser] = useState<number | null>(null);
  const [action, setAction] = useState("asset.run");
  const [target, setTarget] = useState<number | null>(null);
  const [asked, setAsked] = useState<Question | null>(null);

  const scope = scopeOf(actions.data ?? [], action);
  const sortedPeople = useMemo(
    () => [...(people.data ?? [])].sort((a, b) => a.name.localeCompare(b.name)),
    [people.data],
  );
  const chosenUser = user ?? sortedPeople[0]?.id ?? null;
  const targets = useMemo(() => {
    if (scope === "project") return (projects.data ?? []).map((p) => ({ id: p.id, label: p.name, group: "Projects" }));
    if (scope === "asset")
      return (assets.data ?? []).map((a) => ({ id: a.id, label: `${a.name} (${a.kind})`, group: a.project_name }));
    return [];
  }, [scope, projects.data, assets.data]);
  const chosenTarget = targets.some((t) => t.id === target) ? target : (targets[0]?.id ?? null);

  const answer = useQuery({
    queryKey: ["explain", asked],
    queryFn: () => (asked ? api.explain(asked.user, asked.action, asked.resource) : Promise.reject()),
    enabled: asked !== null,
  });
  const whoCan = useQuery({
    queryKey: ["who_can", asked?.action, asked?.resource],
    queryFn: () => (asked ? api.whoCan(asked.action, asked.resource) : Promise.reject()),
    enabled: asked !== null,
  });

  const ask = (e: FormEvent) => {
    e.preventDefault();
    if (chosenUser === null) return;
    const resource: ResourceRef =
      scope === "org" || chosenTarget === null
        ? { kind: "org" }
        : { kind: scope === "project" ? "project" : "asset", id: chosenTarget };
    setAsked({ user: chosenUser, action, resource });
  };

  const groupedTargets = useMemo(() => {
    const groups = new Map<string, typeof targets>();
    for (const t of targets) groups.set(t.group, [...(groups.get(t.group) ?? []), t]);
    return [...groups.entries()];
  }, [targets]);

  const loadError = people.error ?? actions.error ?? assets.error ?? projects.error;
  if (loadError) return <ErrorNote message={describeError(toIpcError(loadError))} />;

  return (
    <section className="view" aria-labelledby="explain-title">
      <div className="view-head">
        <div>
          <h1 id="explain-title">Why / why not</h1>
          <p className="muted">
            Ask whether a person may do something, and why. Answers come from the same resolver the platform
            enforces with, on this computer's data.
          </p>
        </div>
        <AgeNote text={ageText} />
      </div>
      <form className="card explain-form" onSubmit={ask}>
        <label>
          Person
          <select
            value={chosenUser ?? ""}
            onChange={(e) => setUser(Number(e.target.value))}
            data-testid="explain-person"
          >
            {sortedPeople.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} ({p.role}
                {p.active ? "" : ", inactive"})
              </option>
            ))}
          </select>
        </label>
        <label>
          Action
          <select value={action} onChange={(e) => setAction(e.target.value)} data-testid="explain-action">
            {SCOPES.map((s) => (
              <optgroup key={s.scope} label={s.label}>
                {(actions.data ?? [])
                  .filter((a) => a.scope === s.scope)
                  .map((a) => (
                    <option key={a.name} value={a.name}>
                      {a.name} — {a.label}
                    </option>
                  ))}
              </optgroup>
            ))}
          </select>
        </label>
        <label>
          On
          {scope === "org" ? (
            <select disabled value="org">
              <option value="org">the organization</option>
            </select>
          ) : (
            <select
              value={chosenTarget ?? ""}
              onChange={(e) => setTarget(Number(e.target.value))}
              data-testid="explain-target"
            >
              {groupedTargets.map(([group, items]) => (
                <optgroup key={group} label={group}>
                  {items.map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.label}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
          )}
        </label>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={chosenUser === null} data-testid="explain-submit">
            Explain
          </button>
        </div>
      </form>

      {answer.error && <ErrorNote message={describeError(toIpcError(answer.error))} />}
      {answer.data && <Verdict explanation={answer.data} />}
      {whoCan.data && asked && (
        <div className="card who-can">
          <h2>
            Who can: <code>{asked.action}</code> on {answer.data?.resource ?? "this resource"}
          </h2>
          {whoCan.data.length === 0 ? (
            <p className="muted">Nobody.</p>
          ) : (
            <ul>
              {whoCan.data.map((d) => (
                <li key={d.principal}>
                  <strong>{d.principal}</strong>
                  <span className="muted"> — {d.reasons.map((r) => r.message).join("; ")}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}

function Verdict({ explanation: x }: { explanation: Explanation }) {
  return (
    <div className={`card verdict ${x.allowed ? "allowed" : "denied"}`} aria-live="polite" data-testid="verdict">
      <div className="verdict-head">
        <span className="verdict-badge">{x.allowed ? "Allowed" : "Denied"}</span>
        <span>
          <strong>{x.principal}</strong> {x.allowed ? "may" : "may not"} <code>{x.action}</code> on {x.resource}
        </span>
      </div>
      <h3>{x.allowed ? "Because" : "Because of what is missing"}</h3>
      <ul className="reasons">
        {x.reasons.map((r, i) => (
          <li key={`${r.kind}-${i}`} className={r.kind === "cannot_run_agent" ? "missing-agent" : ""}>
            <span className="reason-kind">{r.kind.replace(/_/g, " ")}</span>
            {r.message}
          </li>
        ))}
      </ul>
    </div>
  );
}
