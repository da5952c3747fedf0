import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import type { Profile } from "../bindings/Profile";
import type { SessionInfo } from "../bindings/SessionInfo";
import type { Welcome } from "../bindings/Welcome";
import { api, describeError, toIpcError } from "../ipc";
import { BrandMark } from "./BrandMark";

interface Props {
  welcome: Welcome;
  /** Sign in again as this profile (its session ended, or the user switched). */
  profile?: Profile;
  notice?: string;
  onOpen: (session: SessionInfo) => void;
}

export function SignIn({ welcome, profile, notice, onOpen }: Props) {
  const recent = welcome.profiles[0];
  const [url, setUrl] = useState(
    profile?.platform_url ?? welcome.platform_url ?? recent?.platform_url ?? "https://",
  );
  const [email, setEmail] = useState(profile?.email ?? welcome.email ?? "");
  const [password, setPassword] = useState(profile ? "" : (welcome.password ?? ""));
  const [totp, setTotp] = useState("");
  const [needsTotp, setNeedsTotp] = useState(false);

  const profiles = welcome.profiles;
  const [chosenId, setOfflineId] = useState(profile?.id ?? profiles[0]?.id ?? "");
  // The list is read again after a profile is forgotten: never point at one that is gone.
  const offlineId = profiles.some((p) => p.id === chosenId) ? chosenId : (profiles[0]?.id ?? "");
  const [offlinePassword, setOfflinePassword] = useState("");

  const signIn = useMutation({
    mutationFn: () => api.signIn({ url: url.trim(), email: email.trim(), password, totp: totp.trim() || null }),
    onSuccess: (session) => {
      setPassword("");
      onOpen(session);
    },
    onError: (raw) => {
      if (toIpcError(raw).is("totp_required")) setNeedsTotp(true);
    },
  });

  const openOffline = useMutation({
    mutationFn: () => api.openOffline(offlineId, offlinePassword),
    onSuccess: (session) => {
      setOfflinePassword("");
      onOpen(session);
    },
  });

  const submitOnline = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate();
  };
  const submitOffline = (e: FormEvent) => {
    e.preventDefault();
    openOffline.mutate();
  };

  const keyring = welcome.keyring;
  const onlineError = signIn.error ? describeError(toIpcError(signIn.error)) : null;
  const offlineError = openOffline.error ? describeError(toIpcError(openOffline.error)) : null;

  return (
    <main className="signin">
      <header className="signin-head">
        <BrandMark size={48} />
        <div>
          <h1>Steward Console</h1>
          <p className="muted">Who may do what at the plant — online, and from this computer's encrypted cache.</p>
        </div>
      </header>

      {notice && (
        <div className="banner info" role="status">
          {notice}
        </div>
      )}
      {keyring && (
        <div className="banner warn" role="alert">
          <strong>No system keyring.</strong> {describeError(toIpcError(keyring))}
          <div className="detail">{keyring.message}</div>
        </div>
      )}

      <div className="signin-grid">
        <form className="card" onSubmit={submitOnline} aria-labelledby="online-title">
          <h2 id="online-title">Sign in</h2>
          <label>
            Platform address
            <input
              type="url"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              required
              autoComplete="url"
              spellCheck={false}
            />
          </label>
          <label>
            Email
            <input
              type="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              required
              autoComplete="username"
              autoFocus={!welcome.email && !profile && welcome.profiles.length === 0}
            />
          </label>
          <label>
            Password
            <input
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
              autoComplete="current-password"
              autoFocus={profile !== undefined}
            />
          </label>
          <label>
            <span>
              Authenticator code{" "}
              {needsTotp ? "" : <span className="muted">(if your organization requires one)</span>}
            </span>
            <input
              type="text"
              inputMode="numeric"
              pattern="[0-9]{6}"
              maxLength={6}
              value={totp}
              onChange={(e) => setTotp(e.target.value.replace(/\D/g, ""))}
              required={needsTotp}
              autoComplete="one-time-code"
            />
          </label>
          {onlineError && (
            <p className="error-note" role="alert">
              {onlineError}
            </p>
          )}
          <div className="form-actions">
            <button
              type="submit"
              className="primary"
              disabled={signIn.isPending || keyring !== null}
              data-testid="sign-in"
            >
              {signIn.isPending ? "Signing in and syncing…" : "Sign in"}
            </button>
          </div>
          {signIn.isPending && <div className="progress indeterminate" aria-label="Syncing the organization" />}
        </form>

        <form className="card" onSubmit={submitOffline} aria-labelledby="offline-title">
          <h2 id="offline-title">Open offline</h2>
          {profiles.length === 0 ? (
            <p className="muted">
              No profile is cached on this computer yet. Sign in once online; afterwards the profile opens here
              with its password even when the platform cannot be reached.
            </p>
          ) : (
            <>
              <fieldset className="profiles">
                <legend>Cached profiles</legend>
                {profiles.map((p) => (
                  <label key={p.id} className="profile-choice">
                    <input
                      type="radio"
                      name="profile"
                      value={p.id}
                      checked={offlineId === p.id}
                      onChange={() => setOfflineId(p.id)}
                    />
                    <span>
                      <strong>{p.display_name}</strong> · {p.email}
                      <span className="muted block">
                        {p.org_name} · {p.platform_url}
                      </span>
                    </span>
                  </label>
                ))}
              </fieldset>
              <label>
                Password
                <input
                  type="password"
                  value={offlinePassword}
                  onChange={(e) => setOfflinePassword(e.target.value)}
                  required
                  autoFocus={!welcome.email && !profile}
                  autoComplete="current-password"
                  data-testid="offline-password"
                />
              </label>
              {offlineError && (
                <p className="error-note" role="alert">
                  {offlineError}
                </p>
              )}
              <div className="form-actions">
                <button type="submit" disabled={openOffline.isPending || !offlineId} data-testid="open-offline">
                  Open from cache
                </button>
              </div>
            </>
          )}
        </form>
      </div>
    </main>
  );
}
