import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import type { ChangeRequest } from "../bindings/ChangeRequest";
import type { ProjectRow } from "../bindings/ProjectRow";
import { api, describeError, toIpcError } from "../ipc";
import { PROJECT_ROLES, grantChange, granteeKey, parseGrantee } from "../changes";
import { AgeNote, Dialog, ErrorNote } from "./Dialog";
import { ChangeFooter, Outcome, PreviewPanel, usePreviewedChange } from "./ChangePreview";

const PROJECT_ROLE_HINTS: Record<string, string> = {
  admin: "manages members and keys; asset admin everywhere in the project",
  editor: "creates, edits, runs and deletes every asset",
  member: "creates own assets; runs shared ones",
  chat: "chat only; runs agents it is member on",
  viewer: "views assets it is granted; runs nothing",
};

type Editing = { project: number; grantee: string; remove: boolean };

/** Projects and who holds which project role, people and groups. Org owners and admins are
 *  project admin everywhere without a grant. */
export function ProjectsView({ ageText, online }: { ageText: string; online: boolean }) {
  const projects = useQuery({ queryKey: ["project_members"], queryFn: api.projectMembers });
  const [editing, setEditing] = useState<Editing | null>(null);
  const live = editing ? (projects.data ?? []).find((p) => p.id === editing.project) : undefined;

  if (projects.error) return <ErrorNote message={describeError(toIpcError(projects.error))} />;

  return (
    <section className="view" aria-labelledby="projects-title">
      <div className="view-head">
        <div>
          <h1 id="projects-title">Projects</h1>
          <p className="muted">
            Project members and their roles. Org owners and admins are admin of every project without being listed.
          </p>
        </div>
        <AgeNote text={ageText} />
      </div>
      {(projects.data ?? []).length === 0 && !projects.isPending && (
        <p className="empty">This organization has no projects.</p>
      )}
      {(projects.data ?? []).map((p) => (
        <div key={p.id} className="card">
          <div className="view-head">
            <div>
              <h2>
                {p.name} {p.pending && <span className="tag pending">queued change</span>}
              </h2>
              <p className="muted small">
                {p.assets} assets · {p.grants.length} members
              </p>
            </div>
            <button type="button" className="small" onClick={() => setEditing({ project: p.id, grantee: "", remove: false })}>
              Add member…
            </button>
          </div>
          <table className="list compact">
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Project role</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {p.grants.map((g) => {
                const key = granteeKey(g.grantee);
                return (
                  <tr key={key}>
                    <td>{g.grantee.kind === "group" ? `group ${g.name} (${g.people} people)` : g.name}</td>
                    <td>
                      <span className={`role-tag role-${g.role}`}>{g.role}</span>
                      {g.pending && <span className="tag pending">queued change</span>}
                    </td>
                    <td className="row-actions">
                      <button
                        type="button"
                        className="small"
                        onClick={() => setEditing({ project: p.id, grantee: key, remove: false })}
                      >
                        Change role…
                      </button>
                      <button
                        type="button"
                        className="small danger-quiet"
                        onClick={() => setEditing({ project: p.id, grantee: key, remove: true })}
                      >
                        Remove…
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ))}
      {editing && live && (
        <ProjectRoleDialog
          project={live}
          initial={editing}
          online={online}
          onClose={() => setEditing(null)}
        />
      )}
    </section>
  );
}

function ProjectRoleDialog({
  project,
  initial,
  online,
  onClose,
}: {
  project: ProjectRow;
  initial: Editing;
  online: boolean;
  onClose: () => void;
}) {
  const people = useQuery({ queryKey: ["people"], queryFn: api.people });
  const groups = useQuery({ queryKey: ["groups"], queryFn: api.groups });
  const [grantee, setGrantee] = useState(initial.grantee);
  const existing = project.grants.find((g) => granteeKey(g.grantee) === grantee) ?? null;
  const [role, setRole] = useState<string>(existing?.role ?? "member");
  const [frozen, setFrozen] = useState<ChangeRequest | null>(null);
  const remove = initial.remove;
  const parsed = parseGrantee(grantee);
  const wanted = grantChange({ kind: "project", id: project.id }, parsed, role, existing?.role ?? null, remove);
  const change = frozen ?? wanted;
  const sortedPeople = useMemo(
    () => [...(people.data ?? [])].filter((p) => p.active).sort((a, b) => a.name.localeCompare(b.name)),
    [people.data],
  );
  const name =
    existing?.name ??
    (parsed?.kind === "group"
      ? (groups.data ?? []).find((g) => g.id === parsed.id)?.name
      : sortedPeople.find((p) => p.id === parsed?.id)?.name) ??
    "";
  const flow = usePreviewedChange(
    change,
    remove ? `Saved: ${name} is no longer a member of ${project.name}.` : `Saved: ${name} is now ${role} of ${project.name}.`,
  );
  const done = flow.submit.data;

  return (
    <Dialog
      title={remove ? `Remove ${name} from ${project.name}` : `Project role in ${project.name}`}
      onClose={onClose}
      wide
      footer={
        <ChangeFooter
          done={done !== undefined}
          onClose={onClose}
          danger={remove}
          disabled={!flow.ready}
          onSave={() => {
            setFrozen(change);
            flow.save();
          }}
          label={remove ? (online ? "Remove member" : "Queue removal") : online ? "Save role" : "Queue change"}
        />
      }
    >
      {!remove && (
        <fieldset className="share-form" disabled={done !== undefined || flow.submit.isPending}>
          <legend>{existing ? `Change the role of ${existing.name}` : "Add a member"}</legend>
          <label>
            Person or group
            <select
              value={grantee}
              disabled={initial.grantee !== ""}
              onChange={(e) => {
                setGrantee(e.target.value);
                const g = project.grants.find((x) => granteeKey(x.grantee) === e.target.value);
                if (g) setRole(g.role);
              }}
            >
              <option value="">Choose a person or group</option>
              <optgroup label="People">
                {sortedPeople.map((p) => (
                  <option key={p.id} value={`user:${p.id}`}>
                    {p.name}
                  </option>
                ))}
              </optgroup>
              <optgroup label="Groups">
                {(groups.data ?? []).map((g) => (
                  <option key={g.id} value={`group:${g.id}`}>
                    {g.name}
                  </option>
                ))}
              </optgroup>
            </select>
          </label>
          <label>
            Project role
            <select value={role} onChange={(e) => setRole(e.target.value)}>
              {PROJECT_ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <p className="muted small">
            {role}: {PROJECT_ROLE_HINTS[role]}
            {existing && ` · now ${existing.role}`}
          </p>
        </fieldset>
      )}
      {!parsed ? (
        <p className="muted">Choose a person or group to see who gains and who loses which permissions.</p>
      ) : change === null ? (
        <p className="muted">
          {name} already holds {role} in this project.
        </p>
      ) : (
        <PreviewPanel effect={flow.effect} error={flow.preview.error} after={done !== undefined} />
      )}
      {flow.submit.error && <ErrorNote message={describeError(toIpcError(flow.submit.error))} />}
      {done !== undefined && <Outcome message={done} />}
    </Dialog>
  );
}
