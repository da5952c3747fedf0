import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  createColumnHelper,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  useReactTable,
  type SortingState,
} from "@tanstack/react-table";
import type { OutboxItem } from "../bindings/OutboxItem";
import type { PersonRow } from "../bindings/PersonRow";
import { api, describeError, toIpcError } from "../ipc";
import { groupPreview, type PrincipalDelta } from "../preview";
import { AgeNote, Dialog, ErrorNote } from "./Dialog";
import { InviteDialog, StatusDialog } from "./PeopleActions";
import { PreviewPanel } from "./ChangePreview";
import { ExportButtons } from "./ExportButtons";

const column = createColumnHelper<PersonRow>();

export function PeopleView({ ageText, online }: { ageText: string; online: boolean }) {
  const people = useQuery({ queryKey: ["people"], queryFn: api.people });
  // Who a queued change touches: the effective matrix marks them.
  const matrix = useQuery({ queryKey: ["effective_matrix", ""], queryFn: () => api.effectiveMatrix("") });
  const pending = useMemo(
    () => new Set((matrix.data?.rows ?? []).filter((r) => r.pending).map((r) => r.user)),
    [matrix.data],
  );
  const [sorting, setSorting] = useState<SortingState>([{ id: "name", desc: false }]);
  const [editing, setEditing] = useState<PersonRow | null>(null);
  const [status, setStatus] = useState<PersonRow | null>(null);
  const [inviting, setInviting] = useState(false);

  const columns = useMemo(
    () => [
      column.accessor("name", { header: "Name" }),
      column.accessor("role", {
        header: "Org role",
        cell: (info) => <span className={`role-tag role-${info.getValue()}`}>{info.getValue()}</span>,
      }),
      column.accessor("active", {
        header: "Status",
        cell: (info) => (
          <span className="status-cell">
            {info.getValue() ? "active" : <span className="tag">inactive</span>}
            <button
              type="button"
              className={info.getValue() ? "link danger-link" : "link"}
              onClick={() => setStatus(info.row.original)}
              data-testid="change-status"
              aria-label={`${info.getValue() ? "Deactivate" : "Reactivate"} ${info.row.original.name}`}
            >
              {info.getValue() ? "deactivate…" : "reactivate…"}
            </button>
          </span>
        ),
      }),
      column.accessor((p) => p.groups.join(", "), {
        id: "groups",
        header: "Groups",
        enableSorting: false,
        cell: (info) => info.getValue() || <span className="muted">none</span>,
      }),
      column.display({
        id: "actions",
        header: () => <span className="sr-only">Actions</span>,
        cell: (info) => (
          <button
            type="button"
            className="small"
            onClick={() => setEditing(info.row.original)}
            data-testid="change-role"
          >
            Change role…
          </button>
        ),
      }),
    ],
    [],
  );

  const table = useReactTable({
    data: people.data ?? [],
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });

  if (people.error) return <ErrorNote message={describeError(toIpcError(people.error))} />;

  return (
    <section className="view" aria-labelledby="people-title">
      <div className="view-head">
        <div>
          <h1 id="people-title">People</h1>
          <p className="muted">
            Members of the organization. A role change shows who gains and who loses which permission before it is
            saved; offline it waits in Changes and is sent when the platform answers.
          </p>
        </div>
        <div className="head-actions">
          <AgeNote text={ageText} />
          <div className="head-buttons">
            <button type="button" className="small" onClick={() => setInviting(true)} data-testid="invite">
              Invite…
            </button>
            <ExportButtons />
          </div>
        </div>
      </div>
      <div className="table-scroll">
        <table className="list">
          <thead>
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => {
                  const sorted = header.column.getIsSorted();
                  return (
                    <th
                      key={header.id}
                      scope="col"
                      aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : undefined}
                    >
                      {header.column.getCanSort() ? (
                        <button type="button" className="sort" onClick={header.column.getToggleSortingHandler()}>
                          {flexRender(header.column.columnDef.header, header.getContext())}
                          <span aria-hidden="true">{sorted === "asc" ? " ▲" : sorted === "desc" ? " ▼" : ""}</span>
                        </button>
                      ) : (
                        flexRender(header.column.columnDef.header, header.getContext())
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {table.getRowModel().rows.map((row) => (
              <tr key={row.id} className={row.original.active ? "" : "dim"} data-testid={`person-row-${row.original.name}`}>
                {row.getVisibleCells().map((cell) => (
                  <td key={cell.id}>
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    {cell.column.id === "role" && pending.has(row.original.id) && (
                      <span className="tag pending">queued change</span>
                    )}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {editing && <ChangeRoleDialog person={editing} online={online} onClose={() => setEditing(null)} />}
      {status && <StatusDialog person={status} online={online} onClose={() => setStatus(null)} />}
      {inviting && <InviteDialog online={online} onClose={() => setInviting(false)} />}
    </section>
  );
}

function outcome(item: OutboxItem): string {
  switch (item.state) {
    case "pending":
      return "Queued: the platform cannot be reached now. The change is sent when it answers; it is marked in every view until then.";
    case "conflict":
      return "Someone changed this person on the platform meanwhile. Both sides are in Changes: keep yours or take theirs.";
    case "failed":
      return `The platform refused the change: ${item.error ?? "no reason given"}.`;
  }
}

function ChangeRoleDialog({ person, online, onClose }: { person: PersonRow; online: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const roles = useQuery({ queryKey: ["role_matrix"], queryFn: api.roleMatrix, staleTime: Infinity });
  const [role, setRole] = useState(person.role);
  const [done, setDone] = useState<{ message: string; effect: PrincipalDelta[] } | null>(null);
  const preview = useQuery({
    queryKey: ["preview_role", person.id, role],
    queryFn: () => api.previewRole(person.id, role),
    enabled: role !== person.role && done === null,
    staleTime: Infinity,
  });
  const effect = useMemo(() => (preview.data ? groupPreview(preview.data) : null), [preview.data]);
  const submit = useMutation({
    mutationFn: async () => {
      const item = await api.submitRole(person.id, role);
      // An accepted change leaves the outbox at once; one still there is queued or contested.
      const still = (await api.outbox()).find((e) => e.item.id === item.id);
      return still ? outcome(still.item) : `Saved: ${person.name} is now ${role}.`;
    },
    onSuccess: (message) => {
      // The effect shown is the one previewed before saving, not a recomputation after it.
      setDone({ message, effect: effect ?? [] });
      void queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "welcome" });
    },
  });
  const shown = done ? done.effect : effect;

  return (
    <Dialog
      title={`Change the org role of ${person.name}`}
      onClose={onClose}
      wide
      footer={
        done ? (
          <button type="button" className="primary" onClick={onClose} autoFocus data-testid="close-role-dialog">
            Close
          </button>
        ) : (
          <>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button
              type="button"
              className="primary"
              disabled={role === person.role || !preview.data || submit.isPending}
              onClick={() => submit.mutate()}
              data-testid="save-role"
            >
              {online ? "Save change" : "Queue change"}
            </button>
          </>
        )
      }
    >
      <fieldset className="role-choice" disabled={submit.isPending || done !== null}>
        <legend>New role (now {person.role})</legend>
        {(roles.data?.roles ?? []).map((r) => (
          <label key={r}>
            <input type="radio" name="role" value={r} checked={role === r} onChange={() => setRole(r)} />
            <span className={`role-tag role-${r}`}>{r}</span>
          </label>
        ))}
      </fieldset>
      {role === person.role ? (
        <p className="muted">Pick a role to see who gains and who loses which permissions.</p>
      ) : (
        <PreviewPanel effect={shown} error={preview.error} after={done !== null} testId="role-preview" />
      )}
      {submit.error && <ErrorNote message={describeError(toIpcError(submit.error))} />}
      {done && (
        <p className="banner info" role="status" data-testid="role-change-outcome">
          {done.message}
        </p>
      )}
    </Dialog>
  );
}
