import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import type { Profile } from "../bindings/Profile";
import type { SessionInfo } from "../bindings/SessionInfo";
import { api, describeError, toIpcError } from "../ipc";
import { ConfirmDialog } from "./Dialog";
import { BrandMark } from "./BrandMark";

interface Props {
  profile: Profile;
  onUnlock: (session: SessionInfo) => void;
  onSwitch: () => void;
  onForget: () => Promise<void>;
}

/** The locked window: nothing of the profile's data, only who it belongs to and a password. */
export function LockScreen({ profile, onUnlock, onSwitch, onForget }: Props) {
  const [password, setPassword] = useState("");
  const [confirmForget, setConfirmForget] = useState(false);
  const unlock = useMutation({
    mutationFn: () => api.openOffline(profile.id, password),
    onSuccess: (session) => {
      setPassword("");
      onUnlock(session);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    unlock.mutate();
  };
  return (
    <main className="lock">
      <form className="card lock-card" onSubmit={submit} aria-labelledby="lock-title">
        <BrandMark size={48} />
        <h1 id="lock-title">Steward Console is locked</h1>
        <p className="lock-who">
          <strong>{profile.display_name}</strong>
          <span className="muted block">{profile.email}</span>
          <span className="muted block">{profile.org_name}</span>
        </p>
        <label>
          Password
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            autoFocus
            autoComplete="current-password"
          />
        </label>
        {unlock.error && (
          <p className="error-note" role="alert">
            {describeError(toIpcError(unlock.error))}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={unlock.isPending}>
            Unlock
          </button>
          <button type="button" onClick={onSwitch}>
            Sign in as someone else
          </button>
          <button type="button" className="danger-quiet" onClick={() => setConfirmForget(true)}>
            Sign out and forget
          </button>
        </div>
      </form>
      {confirmForget && (
        <ConfirmDialog
          title="Sign out and forget this profile?"
          confirmLabel="Sign out and forget"
          danger
          onCancel={() => setConfirmForget(false)}
          onConfirm={async () => {
            setConfirmForget(false);
            await onForget();
          }}
        >
          <p>
            This deletes the cached data of {profile.email} on this computer, including changes not yet sent, and
            removes its sign-in token from the system keyring.
          </p>
        </ConfirmDialog>
      )}
    </main>
  );
}
