import { useQuery } from "@tanstack/react-query";
import { api, describeError, toIpcError } from "../ipc";
import { AgeNote, ErrorNote } from "./Dialog";

/** Workforce readiness: running a workforce needs asset member on it and on every agent inside.
 *  For each workforce, who may run it, and who is held back by which missing agent. */
export function WorkforceView({ ageText }: { ageText: string }) {
  const workforces = useQuery({ queryKey: ["workforces"], queryFn: api.workforces });
  if (workforces.error) return <ErrorNote message={describeError(toIpcError(workforces.error))} />;
  const rows = workforces.data ?? [];

  return (
    <section className="view" aria-labelledby="workforce-title">
      <div className="view-head">
        <div>
          <h1 id="workforce-title">Workforce readiness</h1>
          <p className="muted">
            Running a workforce needs run access to the workforce and to every agent in it. People who have the first
            but not the second are listed with the agents they are missing; share those agents from Assets.
          </p>
        </div>
        <AgeNote text={ageText} />
      </div>
      {rows.length === 0 && !workforces.isPending && <p className="empty">This organization has no workforces.</p>}
      <div className="readiness">
        {rows.map((w) => (
          <article key={w.id} className="card" aria-labelledby={`workforce-${w.id}`}>
            <h2 id={`workforce-${w.id}`}>
              {w.name} {w.pending && <span className="tag pending">queued change</span>}
            </h2>
            <p className="muted small">
              {w.project_name} · runs {w.agents.length > 0 ? w.agents.join(", ") : "no agents"}
            </p>
            <h3>May run it ({w.ready.length})</h3>
            {w.ready.length === 0 ? (
              <p className="muted">No one.</p>
            ) : (
              <p>{w.ready.map((p) => p.name).join(", ")}</p>
            )}
            <h3>Held back by a missing agent ({w.blocked.length})</h3>
            {w.blocked.length === 0 ? (
              <p className="muted">No one.</p>
            ) : (
              <table className="list compact">
                <thead>
                  <tr>
                    <th scope="col">Person</th>
                    <th scope="col">Cannot run</th>
                  </tr>
                </thead>
                <tbody>
                  {w.blocked.map((b) => (
                    <tr key={b.id}>
                      <td>{b.name}</td>
                      <td title={b.reasons.join("\n")}>
                        {b.missing_agents.map((a, i) => (
                          <span key={a}>
                            {i > 0 && ", "}
                            <span className="missing-agent">agent {a}</span>
                          </span>
                        ))}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <p className="muted small">
              {w.no_access} other active {w.no_access === 1 ? "person has" : "people have"} no run access to the
              workforce itself.
            </p>
          </article>
        ))}
      </div>
    </section>
  );
}
