import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { CreatedKeyView } from "../bindings/CreatedKeyView";
import type { KeyView } from "../bindings/KeyView";
import type { PermissionTree } from "../bindings/PermissionTree";
import { api, describeError, toIpcError, type IpcError } from "../ipc";
import { diff, inCatalogOrder, labelOf } from "../keys";
import { AgeNote, ConfirmDialog, Dialog, ErrorNote } from "./Dialog";
import { PermissionEditor } from "./PermissionEditor";

function when(ms: number | null): string {
  return ms === null ? "never" : new Date(ms).toLocaleString();
}

/** Errors of the key actions, by code: the platform's refusals get a sentence of their own. */
function keyError(e: IpcError): string {
  switch (e.code) {
    case "offline":
      return "The platform cannot be reached. Creating, disabling, enabling and revoking keys needs the network; the list shows the keys as last synced.";
    case "escalation":
    case "scope_escalation":
    case "key_enabled":
      return e.message;
    case "key_revoked":
      return "This key was revoked already.";
    case "version_conflict":
      return "The key changed on the platform meanwhile. Sync, then try again.";
    default:
      return describeError(e);
  }
}

export function KeysView({ ageText, online }: { ageText: string; online: boolean }) {
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ["keys"], queryFn: api.keys });
  const tree = useQuery({ queryKey: ["permission_tree"], queryFn: api.permissionTree, staleTime: Infinity });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedKeyView | null>(null);
  const [editing, setEditing] = useState<KeyView | null>(null);
  const [revoking, setRevoking] = useState<KeyView | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = () => void queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "welcome" });
  const toggle = useMutation({
    mutationFn: (k: KeyView) => (k.status === "enabled" ? api.disableKey(k.id) : api.enableKey(k.id)),
    onSuccess: () => setError(null),
    onError: (raw) => setError(keyError(toIpcError(raw))),
    onSettled: refresh,
  });
  const revoke = useMutation({
    mutationFn: (k: KeyView) => api.revokeKey(k.id),
    onSuccess: () => setError(null),
    onError: (raw) => setError(keyError(toIpcError(raw))),
    onSettled: () => {
      setRevoking(null);
      refresh();
    },
  });

  if (keys.error) return <ErrorNote message={describeError(toIpcError(keys.error))} />;

  return (
    <section className="view" aria-labelledby="keys-title">
      <div className="view-head">
        <div>
          <h1 id="keys-title">API keys</h1>
          <p className="muted">
            Keys for SCADA, ERP and device integrations. A key carries permissions from the catalog, never more than
            yours. Its secret is shown once, when it is created.
          </p>
        </div>
        <AgeNote text={ageText} />
      </div>
      <div className="toolbar">
        <button
          type="button"
          className="primary"
          disabled={!online || !tree.data}
          onClick={() => setCreating(true)}
          data-testid="new-key"
        >
          New API key…
        </button>
        {!online && (
          <span className="muted" data-code="offline">
            Offline: creating, disabling, enabling and revoking keys needs the platform.
          </span>
        )}
      </div>
      {error && <ErrorNote message={error} />}
      <div className="table-scroll">
        <table className="list keys-list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Status</th>
              <th scope="col">Scope</th>
              <th scope="col">Permissions</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(keys.data ?? []).length === 0 && (
              <tr>
                <td colSpan={8} className="empty">
                  No API keys yet.
                </td>
              </tr>
            )}
            {(keys.data ?? []).map((k) => (
              <tr key={k.id} className={k.status === "revoked" ? "dim" : ""} data-testid={`key-row-${k.name}`}>
                <td>{k.name}</td>
                <td>
                  <code>{k.prefix}</code>
                </td>
                <td>
                  <span className={`state-tag key-${k.status}`}>{k.status}</span>
                  {k.pending && <span className="tag pending">queued edit</span>}
                </td>
                <td>{k.scopes.length === 0 ? "whole organization" : k.scopes.map((s) => s.path).join("; ")}</td>
                <td title={tree.data ? k.permissions.map((p) => labelOf(tree.data, p)).join("\n") : undefined}>
                  {k.summary}
                </td>
                <td>
                  {when(k.created_at)}
                  <div className="muted">by {k.created_by}</div>
                </td>
                <td>{when(k.last_used_at)}</td>
                <td className="row-actions">
                  {k.status !== "revoked" && (
                    <>
                      <button type="button" className="small" disabled={!tree.data} onClick={() => setEditing(k)}>
                        Edit permissions…
                      </button>
                      <button
                        type="button"
                        className="small"
                        disabled={!online || toggle.isPending}
                        onClick={() => toggle.mutate(k)}
                      >
                        {k.status === "enabled" ? "Disable" : "Enable"}
                      </button>
                      <button
                        type="button"
                        className="small danger-quiet"
                        disabled={!online}
                        onClick={() => setRevoking(k)}
                      >
                        Revoke…
                      </button>
                    </>
                  )}
                  {k.status === "revoked" && <span className="muted">revoked {when(k.revoked_at)}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {creating && tree.data && (
        <CreateKeyDialog
          tree={tree.data}
          onClose={() => setCreating(false)}
          onCreated={(c) => {
            setCreating(false);
            setCreated(c);
            refresh();
          }}
        />
      )}
      {created && <SecretDialog created={created} onClose={() => setCreated(null)} />}
      {editing && tree.data && (
        <EditKeyDialog
          tree={tree.data}
          keyId={editing.id}
          online={online}
          onClose={() => {
            setEditing(null);
            refresh();
          }}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke ${revoking.name}?`}
          confirmLabel="Revoke key"
          danger
          onCancel={() => setRevoking(null)}
          onConfirm={() => revoke.mutate(revoking)}
        >
          <p>
            Every request made with <code>{revoking.prefix}</code> fails from now on and its broker connection is
            dropped. A revoked key cannot be enabled again.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function CreateKeyDialog({
  tree,
  onClose,
  onCreated,
}: {
  tree: PermissionTree;
  onClose: () => void;
  onCreated: (created: CreatedKeyView) => void;
}) {
  const scopes = useQuery({ queryKey: ["key_scopes"], queryFn: api.keyScopes });
  const [name, setName] = useState("");
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [scoped, setScoped] = useState<Set<number>>(new Set());
  // Not a TanStack mutation: its cache would keep the answer (and so the secret) after closing.
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<IpcError | null>(null);
  const create = async () => {
    setPending(true);
    setError(null);
    try {
      onCreated(
        await api.createKey({ name: name.trim(), permissions: inCatalogOrder(tree, checked), scopes: [...scoped] }),
      );
    } catch (raw) {
      setError(toIpcError(raw));
      setPending(false);
    }
  };

  return (
    <Dialog
      title="New API key"
      onClose={onClose}
      wide
      footer={
        <>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="primary"
            disabled={name.trim() === "" || checked.size === 0 || pending}
            onClick={() => void create()}
            data-testid="create-key"
          >
            Create key
          </button>
        </>
      }
    >
      <label className="block">
        Name
        <input
          type="text"
          value={name}
          maxLength={100}
          autoFocus
          onChange={(e) => setName(e.target.value)}
          data-testid="key-name"
        />
      </label>
      <PermissionEditor tree={tree} checked={checked} onChange={setChecked} disabled={pending} />
      <fieldset className="scope-choice">
        <legend>Hierarchy scope</legend>
        <p className="muted">
          {scoped.size === 0
            ? "The whole organization. Check hierarchy groups to limit the key to their subtrees."
            : `Limited to ${scoped.size} hierarchy group(s) and everything below them.`}
        </p>
        {(scopes.data ?? []).map((s) => (
          <label key={s.id}>
            <input
              type="checkbox"
              checked={scoped.has(s.id)}
              onChange={(e) => {
                const next = new Set(scoped);
                if (e.target.checked) next.add(s.id);
                else next.delete(s.id);
                setScoped(next);
              }}
            />
            {s.path}
          </label>
        ))}
      </fieldset>
      {error && (
        <p className={`error-note code-${error.code}`} role="alert" data-testid="key-error">
          {keyError(error)}
        </p>
      )}
    </Dialog>
  );
}

/** The secret, once. Closing the dialog drops it: it lives only in this component's props. */
function SecretDialog({ created, onClose }: { created: CreatedKeyView; onClose: () => void }) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  return (
    <Dialog
      title={`Key created: ${created.key.name}`}
      onClose={onClose}
      footer={
        <button type="button" className="primary" onClick={onClose} data-testid="close-secret">
          I have stored the secret
        </button>
      }
    >
      <div className="secret-once">
        <p>
          <strong>You will not see this secret again.</strong> Steward keeps only a hash of it. Store it in the
          integration's secret store now.
        </p>
        <label className="block">
          Secret
          <input
            type="text"
            readOnly
            value={created.secret}
            autoComplete="off"
            spellCheck={false}
            onFocus={(e) => e.target.select()}
            data-testid="key-secret"
          />
        </label>
        <div className="row-actions">
          <button
            type="button"
            autoFocus
            onClick={() => {
              navigator.clipboard
                ?.writeText(created.secret)
                .then(() => setCopied("yes"))
                .catch(() => setCopied("failed"));
            }}
          >
            Copy secret
          </button>
          {copied === "yes" && <span role="status">Copied to the clipboard.</span>}
          {copied === "failed" && <span role="status">Copying failed; select the secret and copy it.</span>}
        </div>
        <p className="muted">
          Later the key is known by its prefix <code>{created.key.prefix}</code>.
        </p>
      </div>
    </Dialog>
  );
}

/** Disable → edit → enable, the platform's rule for changing a key's permissions. */
function EditKeyDialog({
  tree,
  keyId,
  online,
  onClose,
}: {
  tree: PermissionTree;
  keyId: number;
  online: boolean;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ["keys"], queryFn: api.keys });
  const key = keys.data?.find((k) => k.id === keyId);
  const original = useMemo(() => new Set(key?.permissions ?? []), [key?.permissions]);
  const [checked, setChecked] = useState<Set<string> | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const current = checked ?? original;
  const change = diff(tree, original, current);
  const refresh = () => void queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "welcome" });

  const disable = useMutation({ mutationFn: () => api.disableKey(keyId), onSettled: refresh });
  const enable = useMutation({ mutationFn: () => api.enableKey(keyId), onSettled: refresh });
  const save = useMutation({
    mutationFn: () => api.setKeyPermissions(keyId, inCatalogOrder(tree, current)),
    onSuccess: (item) => {
      setSaved(
        item.state === "pending"
          ? "Queued: the platform cannot be reached now. The edit is sent when it answers."
          : "Saved. Enable the key to put it back to work.",
      );
      setChecked(null);
    },
    onSettled: refresh,
  });
  const failure = [disable.error, save.error, enable.error].find((e) => e);

  if (!key) return null;
  const enabled = key.status === "enabled";
  const step = enabled ? 1 : saved ? 3 : 2;

  return (
    <Dialog
      title={`Permissions of ${key.name}`}
      onClose={onClose}
      wide
      footer={
        <button type="button" onClick={onClose}>
          Close
        </button>
      }
    >
      <ol className="steps" aria-label="Steps">
        <li className={step === 1 ? "current" : "done"}>
          <strong>Disable the key.</strong> Its requests fail while it is disabled.{" "}
          {enabled && (
            <button
              type="button"
              className="small"
              disabled={!online || disable.isPending}
              onClick={() => disable.mutate()}
              data-testid="edit-disable"
            >
              Disable now
            </button>
          )}
        </li>
        <li className={step === 2 ? "current" : step > 2 ? "done" : ""}>
          <strong>Edit its permissions</strong> below and save.
        </li>
        <li className={step === 3 ? "current" : ""}>
          <strong>Enable it again.</strong>{" "}
          {!enabled && (
            <button
              type="button"
              className="small"
              disabled={!online || enable.isPending || key.pending}
              onClick={() => enable.mutate()}
              data-testid="edit-enable"
            >
              Enable now
            </button>
          )}
        </li>
      </ol>
      <PermissionEditor
        tree={tree}
        checked={current}
        onChange={(next) => {
          setSaved(null);
          setChecked(next);
        }}
        keyEnabled={enabled}
        disabled={enabled || save.isPending}
      />
      {(change.added.length > 0 || change.removed.length > 0) && (
        <div className="preview">
          <h3>Before saving: what the key gains and loses</h3>
          {change.added.length > 0 && (
            <p className="delta gain">
              <span className="delta-verb">gains:</span> {change.added.map((p) => labelOf(tree, p)).join(", ")}
            </p>
          )}
          {change.removed.length > 0 && (
            <p className="delta loss">
              <span className="delta-verb">loses:</span> {change.removed.map((p) => labelOf(tree, p)).join(", ")}
            </p>
          )}
        </div>
      )}
      <div className="form-actions">
        <button
          type="button"
          className="primary"
          disabled={enabled || save.isPending || (change.added.length === 0 && change.removed.length === 0)}
          onClick={() => save.mutate()}
          data-testid="save-key-permissions"
        >
          {online ? "Save permissions" : "Queue permissions"}
        </button>
      </div>
      {saved && (
        <p className="banner info" role="status">
          {saved}
        </p>
      )}
      {failure && <ErrorNote message={keyError(toIpcError(failure))} />}
    </Dialog>
  );
}
