import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import type { AssetRow } from "../bindings/AssetRow";
import type { ChangeRequest } from "../bindings/ChangeRequest";
import type { GrantRow } from "../bindings/GrantRow";
import { api, describeError, toIpcError } from "../ipc";
import { ASSET_ROLES, assetRoleHint, grantChange, granteeKey, parseGrantee } from "../changes";
import { AgeNote, Dialog, ErrorNote } from "./Dialog";
import { ChangeFooter, Outcome, PreviewPanel, usePreviewedChange } from "./ChangePreview";

/** Assets (agents, tools, knowledge, workforces) with who holds which asset role, and the share
 *  dialog that adds, changes or removes a grant after previewing its effect. */
export function AssetsView({ ageText, online }: { ageText: string; online: boolean }) {
  const assets = useQuery({ queryKey: ["asset_grants"], queryFn: api.assetGrants });
  const [filter, setFilter] = useState("");
  const [sharing, setSharing] = useState<number | null>(null);

  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return (assets.data ?? []).filter(
      (a) =>
        !f ||
        a.name.toLowerCase().includes(f) ||
        a.kind === f ||
        a.project_name.toLowerCase().includes(f) ||
        a.grants.some((g) => g.name.toLowerCase().includes(f)),
    );
  }, [assets.data, filter]);
  // The dialog follows the live row, so a saved grant shows in its list at once.
  const current = (assets.data ?? []).find((a) => a.id === sharing) ?? null;

  if (assets.error) return <ErrorNote message={describeError(toIpcError(assets.error))} />;

  return (
    <section className="view" aria-labelledby="assets-title">
      <div className="view-head">
        <div>
          <h1 id="assets-title">Assets</h1>
          <p className="muted">
            Agents, tools, knowledge and workforces with their explicit grants. Project admins and editors are asset
            admin of every asset of their project without a grant; members, chat users and viewers need one.
          </p>
        </div>
        <AgeNote text={ageText} />
      </div>
      <div className="toolbar">
        <label>
          Filter{" "}
          <input
            type="search"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            aria-label="Filter assets by name, kind, project or grantee"
          />
        </label>
        <span className="muted">
          {shown.length} of {assets.data?.length ?? 0} assets
        </span>
      </div>
      <div className="table-scroll">
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Asset</th>
              <th scope="col">Kind</th>
              <th scope="col">Project</th>
              <th scope="col">Grants</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((a) => (
              <tr key={a.id}>
                <td>
                  {a.name}
                  {a.agents.length > 0 && <div className="muted small">runs {a.agents.join(", ")}</div>}
                </td>
                <td>{a.kind}</td>
                <td>{a.project_name}</td>
                <td>
                  <GrantList grants={a.grants} />
                  {a.pending && <span className="tag pending">queued change</span>}
                </td>
                <td>
                  <button
                    type="button"
                    className="small"
                    data-testid={`share-${a.id}`}
                    onClick={() => setSharing(a.id)}
                  >
                    Share…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {shown.length === 0 && <p className="empty">No asset matches.</p>}
      </div>
      {current && <ShareDialog asset={current} online={online} onClose={() => setSharing(null)} />}
    </section>
  );
}

function GrantList({ grants }: { grants: GrantRow[] }) {
  if (grants.length === 0) return <span className="muted">no explicit grants</span>;
  return (
    <ul className="grant-list">
      {grants.map((g) => (
        <li key={granteeKey(g.grantee)}>
          {g.grantee.kind === "group" ? `group ${g.name} (${g.people})` : g.name}{" "}
          <span className={`role-tag role-${g.role}`}>{g.role}</span>
          {g.pending && <span className="tag pending">queued</span>}
        </li>
      ))}
    </ul>
  );
}

function ShareDialog({ asset, online, onClose }: { asset: AssetRow; online: boolean; onClose: () => void }) {
  const people = useQuery({ queryKey: ["people"], queryFn: api.people });
  const groups = useQuery({ queryKey: ["groups"], queryFn: api.groups });
  const [grantee, setGrantee] = useState("");
  const [role, setRole] = useState<string>("member");
  const [removing, setRemoving] = useState(false);

  const parsed = parseGrantee(grantee);
  const existing = asset.grants.find((g) => granteeKey(g.grantee) === grantee) ?? null;
  const [change, setChange] = useState<ChangeRequest | null>(null);
  const wanted = grantChange({ kind: "asset", id: asset.id }, parsed, role, existing?.role ?? null, removing);
  // Freeze the change once saved, so the dialog keeps showing what was saved.
  const effective = change ?? wanted;
  const name = parsed ? nameOf(parsed.kind, parsed.id) : "";
  const flow = usePreviewedChange(
    effective,
    removing ? `Saved: ${name} no longer holds a role on ${asset.name}.` : `Saved: ${name} is now ${role} on ${asset.name}.`,
  );
  const done = flow.submit.data;

  function nameOf(kind: string, id: number): string {
    if (kind === "group") return `group ${groups.data?.find((g) => g.id === id)?.name ?? id}`;
    return people.data?.find((p) => p.id === id)?.name ?? String(id);
  }

  const sortedPeople = useMemo(
    () => [...(people.data ?? [])].filter((p) => p.active).sort((a, b) => a.name.localeCompare(b.name)),
    [people.data],
  );

  const pick = (key: string, remove: boolean) => {
    setGrantee(key);
    setRemoving(remove);
    const g = asset.grants.find((x) => granteeKey(x.grantee) === key);
    if (g && !remove) setRole(g.role);
  };

  return (
    <Dialog
      title={`Share ${asset.kind} ${asset.name}`}
      onClose={onClose}
      wide
      footer={
        <ChangeFooter
          done={done !== undefined}
          onClose={onClose}
          danger={removing}
          testId="share-save"
          disabled={!flow.ready}
          onSave={() => {
            setChange(effective);
            flow.save();
          }}
          label={removing ? (online ? "Remove access" : "Queue removal") : online ? "Save grant" : "Queue grant"}
        />
      }
    >
      <h3>Who holds a role on it</h3>
      {asset.grants.length === 0 ? (
        <p className="muted">No explicit grants. Project admins and editors still manage it.</p>
      ) : (
        <table className="list compact">
          <tbody>
            {asset.grants.map((g) => {
              const key = granteeKey(g.grantee);
              return (
                <tr key={key} className={key === grantee ? "selected" : ""}>
                  <td>{g.grantee.kind === "group" ? `group ${g.name} (${g.people} people)` : g.name}</td>
                  <td>
                    <span className={`role-tag role-${g.role}`}>{g.role}</span>
                    {g.pending && <span className="tag pending">queued change</span>}
                  </td>
                  <td className="row-actions">
                    <button type="button" className="small" disabled={done !== undefined} onClick={() => pick(key, false)}>
                      Change…
                    </button>
                    <button
                      type="button"
                      className="small danger-quiet"
                      disabled={done !== undefined}
                      onClick={() => pick(key, true)}
                    >
                      Remove…
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}

      <fieldset className="share-form" disabled={flow.submit.isPending || done !== undefined}>
        <legend>{removing ? "Remove a grant" : "Grant a role"}</legend>
        <label>
          Person or group
          <select
            data-testid="share-grantee"
            value={grantee}
            onChange={(e) => {
              pick(e.target.value, false);
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
            {(groups.data ?? []).length > 0 && (
              <optgroup label="Groups">
                {(groups.data ?? []).map((g) => (
                  <option key={g.id} value={`group:${g.id}`}>
                    {g.name}
                  </option>
                ))}
              </optgroup>
            )}
          </select>
        </label>
        <label>
          Asset role
          <select
            data-testid="share-role"
            value={role}
            disabled={removing}
            onChange={(e) => {
              setRole(e.target.value);
              setRemoving(false);
            }}
          >
            {ASSET_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <p className="muted small">
          {removing ? `${name} loses the explicit grant; roles from the project remain.` : `${role}: ${assetRoleHint(role)}`}
          {existing && !removing && ` · now ${existing.role}`}
        </p>
      </fieldset>

      {!parsed ? (
        <p className="muted">Choose who to share with to see who gains and who loses which permissions.</p>
      ) : effective === null ? (
        <p className="muted">{name} already holds {role} on this asset.</p>
      ) : (
        <PreviewPanel effect={flow.effect} error={flow.preview.error} after={done !== undefined} />
      )}
      {flow.submit.error && <ErrorNote message={describeError(toIpcError(flow.submit.error))} />}
      {done !== undefined && <Outcome message={done} />}
    </Dialog>
  );
}
