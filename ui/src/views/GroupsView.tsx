import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import type { ChangeRequest } from "../bindings/ChangeRequest";
import type { GroupRow } from "../bindings/GroupRow";
import { api, describeError, toIpcError } from "../ipc";
import { AgeNote, Dialog, ErrorNote } from "./Dialog";
import { ChangeFooter, Outcome, PreviewPanel, usePreviewedChange } from "./ChangePreview";

type Editing = { group: GroupRow; remove: { id: number; name: string } | null };

/** Groups and their members. A grant to a group applies to every member, so adding or removing
 *  a member is previewed like any role change. */
export function GroupsView({ ageText, online }: { ageText: string; online: boolean }) {
  const groups = useQuery({ queryKey: ["groups"], queryFn: api.groups });
  const [editing, setEditing] = useState<Editing | null>(null);
  const live = editing ? ((groups.data ?? []).find((g) => g.id === editing.group.id) ?? editing.group) : null;

  if (groups.error) return <ErrorNote message={describeError(toIpcError(groups.error))} />;

  return (
    <section className="view" aria-labelledby="groups-title">
      <div className="view-head">
        <div>
          <h1 id="groups-title">Groups</h1>
          <p className="muted">
            Named sets of people. A project or asset role granted to a group applies to every member.
          </p>
        </div>
        <AgeNote text={ageText} />
      </div>
      {(groups.data ?? []).length === 0 && !groups.isPending && <p className="empty">This organization has no groups.</p>}
      <div className="table-scroll">
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col">Members</th>
              <th scope="col">Granted</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(groups.data ?? []).map((g) => (
              <tr key={g.id}>
                <td>
                  {g.name}
                  <div className="muted small">{g.members.length} people</div>
                  {g.pending && <span className="tag pending">queued change</span>}
                </td>
                <td>
                  {g.members.length === 0 ? (
                    <span className="muted">no members</span>
                  ) : (
                    <ul className="grant-list">
                      {g.members.map((m) => (
                        <li key={m.id} className={m.active ? "" : "dim"}>
                          {m.name} <span className={`role-tag role-${m.role}`}>{m.role}</span>
                          {!m.active && <span className="tag">inactive</span>}
                          {m.pending && <span className="tag pending">queued</span>}{" "}
                          <button
                            type="button"
                            className="small danger-quiet"
                            aria-label={`Remove ${m.name} from ${g.name}`}
                            onClick={() => setEditing({ group: g, remove: { id: m.id, name: m.name } })}
                          >
                            Remove…
                          </button>
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>
                  {g.grants.length === 0 ? (
                    <span className="muted">nothing</span>
                  ) : (
                    <ul className="grant-list">
                      {g.grants.map((x) => (
                        <li key={x}>{x}</li>
                      ))}
                    </ul>
                  )}
                </td>
                <td className="row-actions">
                  <button type="button" className="small" onClick={() => setEditing({ group: g, remove: null })}>
                    Add member…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {editing && live && (
        <MembershipDialog group={live} remove={editing.remove} online={online} onClose={() => setEditing(null)} />
      )}
    </section>
  );
}

function MembershipDialog({
  group,
  remove,
  online,
  onClose,
}: {
  group: GroupRow;
  remove: { id: number; name: string } | null;
  online: boolean;
  onClose: () => void;
}) {
  const people = useQuery({ queryKey: ["people"], queryFn: api.people });
  const [picked, setPicked] = useState<number | null>(null);
  const [frozen, setFrozen] = useState<ChangeRequest | null>(null);
  const candidates = useMemo(() => {
    const inGroup = new Set(group.members.map((m) => m.id));
    return [...(people.data ?? [])]
      .filter((p) => p.active && !inGroup.has(p.id))
      .sort((a, b) => a.name.localeCompare(b.name));
  }, [people.data, group.members]);
  const user = remove ? remove.id : picked;
  const name = remove ? remove.name : (candidates.find((p) => p.id === picked)?.name ?? "");
  const change: ChangeRequest | null =
    frozen ?? (user === null ? null : { change: "set_group_member", group: group.id, user, member: remove === null });
  const flow = usePreviewedChange(
    change,
    remove ? `Saved: ${name} left ${group.name}.` : `Saved: ${name} joined ${group.name}.`,
  );
  const done = flow.submit.data;

  return (
    <Dialog
      title={remove ? `Remove ${remove.name} from ${group.name}` : `Add a member to ${group.name}`}
      onClose={onClose}
      wide
      footer={
        <ChangeFooter
          done={done !== undefined}
          onClose={onClose}
          danger={remove !== null}
          disabled={!flow.ready}
          onSave={() => {
            setFrozen(change);
            flow.save();
          }}
          label={remove ? (online ? "Remove member" : "Queue removal") : online ? "Add member" : "Queue change"}
        />
      }
    >
      {!remove && (
        <label className="block">
          Person
          <select
            className="block"
            value={picked ?? ""}
            disabled={done !== undefined}
            onChange={(e) => setPicked(e.target.value === "" ? null : Number(e.target.value))}
          >
            <option value="">Choose a person</option>
            {candidates.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
      )}
      {change === null ? (
        <p className="muted">Choose a person to see who gains which permissions.</p>
      ) : (
        <PreviewPanel effect={flow.effect} error={flow.preview.error} after={done !== undefined} />
      )}
      {flow.submit.error && <ErrorNote message={describeError(toIpcError(flow.submit.error))} />}
      {done !== undefined && <Outcome message={done} />}
    </Dialog>
  );
}
