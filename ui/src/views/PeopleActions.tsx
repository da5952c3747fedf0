import { useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import type { ChangeRequest } from "../bindings/ChangeRequest";
import type { Invitation } from "../bindings/Invitation";
import type { PersonRow } from "../bindings/PersonRow";
import { api, describeError, IpcError, toIpcError } from "../ipc";
import { inviteError } from "../changes";
import { Dialog, ErrorNote } from "./Dialog";
import { ChangeFooter, Outcome, PreviewPanel, usePreviewedChange } from "./ChangePreview";

/** Deactivate or reactivate a person: the preview of what they lose (or get back), then an
 *  explicit confirmation. Deactivating keeps every record. */
export function StatusDialog({ person, online, onClose }: { person: PersonRow; online: boolean; onClose: () => void }) {
  const activate = !person.active;
  const [change] = useState<ChangeRequest>({ change: "set_user_active", user: person.id, active: activate });
  const flow = usePreviewedChange(
    change,
    activate ? `Saved: ${person.name} is active again.` : `Saved: ${person.name} is deactivated.`,
  );
  const done = flow.submit.data;
  const verb = activate ? "Reactivate" : "Deactivate";

  return (
    <Dialog
      title={`${verb} ${person.name}?`}
      onClose={onClose}
      wide
      footer={
        <ChangeFooter
          done={done !== undefined}
          onClose={onClose}
          focusCancel
          danger={!activate}
          testId="status-confirm"
          disabled={!flow.ready}
          onSave={flow.save}
          label={online ? verb : `Queue: ${verb.toLowerCase()}`}
        />
      }
    >
      <p>
        {activate
          ? `${person.name} can sign in again and gets back what the ${person.role} role and their grants allow.`
          : `${person.name} can no longer sign in and their live sessions end. Every record they made is kept, and so are their roles and grants, for a later reactivation.`}
      </p>
      <PreviewPanel effect={flow.effect} error={flow.preview.error} after={done !== undefined} />
      {flow.submit.error && <ErrorNote message={describeError(toIpcError(flow.submit.error))} />}
      {done !== undefined && <Outcome message={done} />}
    </Dialog>
  );
}

/** Invite someone by email with an org role. Online only; the token is shown once, kept only in
 *  this dialog's state, and gone when it closes. */
export function InviteDialog({ online, onClose }: { online: boolean; onClose: () => void }) {
  const roles = useQuery({ queryKey: ["role_matrix"], queryFn: api.roleMatrix, staleTime: Infinity });
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("viewer");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<IpcError | null>(null);
  const [invited, setInvited] = useState<Invitation | null>(null);
  const [copied, setCopied] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setInvited(await api.invite(email, role));
    } catch (raw) {
      setError(toIpcError(raw));
    } finally {
      setBusy(false);
    }
  };

  const close = () => {
    setInvited(null);
    onClose();
  };

  return (
    <Dialog
      title="Invite someone"
      onClose={close}
      footer={
        invited ? (
          <button type="button" className="primary" onClick={close}>
            Done
          </button>
        ) : (
          <>
            <button type="button" onClick={close}>
              Cancel
            </button>
            <button type="submit" form="invite-form" className="primary" disabled={busy || email.trim() === ""}>
              Send invite
            </button>
          </>
        )
      }
    >
      {invited ? (
        <div className="secret-once" role="status">
          <p>
            {invited.email} is invited as <span className={`role-tag role-${invited.role}`}>{invited.role}</span>.
            Give them this invite token over a channel you trust. It is shown only now, works once, and expires{" "}
            {new Date(invited.expires_at).toLocaleString()}.
          </p>
          <code data-testid="invite-token">{invited.token}</code>
          <button
            type="button"
            className="small"
            autoFocus
            onClick={() => {
              void navigator.clipboard?.writeText(invited.token).then(() => setCopied(true));
            }}
          >
            {copied ? "Copied" : "Copy token"}
          </button>
        </div>
      ) : (
        <form id="invite-form" className="signin-grid" onSubmit={(e) => void submit(e)}>
          {!online && (
            <p className="banner info">The platform cannot be reached now; an invite needs it, it is never queued.</p>
          )}
          <label>
            Email
            <input
              type="email"
              value={email}
              required
              autoFocus
              autoComplete="off"
              onChange={(e) => setEmail(e.target.value)}
            />
          </label>
          <label>
            Org role
            <select value={role} onChange={(e) => setRole(e.target.value)}>
              {(roles.data?.roles ?? []).map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          {error && <ErrorNote message={inviteError(error)} />}
        </form>
      )}
    </Dialog>
  );
}
