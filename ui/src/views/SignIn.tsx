import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import type { Profile } from "../bindings/Profile";
import type { SessionInfo } from "../bindings/SessionInfo";
import type { Welcome } from "../bindings/Welcome";
import { api, describeError, toIpcError } from "../ipc";
import { BrandMark } from "./BrandMark";
import { SyncBar, useSyncProgress } from "./SyncBar";
import { benchMark } from "../bench";

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
  const [enrolling, setEnrolling] = useState(false);

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
      const e = toIpcError(raw);
      if (e.is("totp_required")) setNeedsTotp(true);
      if (e.is("totp_enrolment_required")) setEnrolling(true);
    },
  });
  const progress = useSyncProgress(signIn.isPending);

  // The local demo signs in by itself, once, with the login it prefilled.
  const autoSignedIn = useRef(false);
  useEffect(() => {
    if (autoSignedIn.current || !welcome.auto_sign_in || profile || notice) return;
    if (!welcome.email || !welcome.password || welcome.keyring) return;
    autoSignedIn.current = true;
    signIn.mutate();
  }, [welcome, profile, notice, signIn]);

  const openOffline = useMutation({
    mutationFn: (args?: { id: string; password: string }) =>
      api.openOffline(args?.id ?? offlineId, args?.password ?? offlinePassword),
    onSuccess: (session) => {
      benchMark("open_offline_done");
      setOfflinePassword("");
      onOpen(session);
    },
  });

  // Benchmarks open the only cached profile offline, once, with the prefilled password, as a
  // user pressing Enter would: asked for before this screen is painted, so the unlock overlaps
  // the paint.
  const autoOpened = useRef(false);
  useLayoutEffect(() => {
    if (autoOpened.current || !welcome.auto_open_offline || profile || notice) return;
    const only = welcome.profiles.length === 1 ? welcome.profiles[0] : undefined;
    if (!only || !welcome.password) return;
    autoOpened.current = true;
    benchMark("open_offline_called");
    openOffline.mutate({ id: only.id, password: welcome.password });
  }, [welcome, profile, notice, openOffline]);

  const submitOnline = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate();
  };
  const submitOffline = (e: FormEvent) => {
    e.preventDefault();
    openOffline.mutate(undefined);
  };

  const keyring = welcome.keyring;
  const onlineError = signIn.error ? describeError(toIpcError(signIn.error)) : null;
  const offlineError = openOffline.error ? describeError(toIpcError(openOffline.error)) : null;

  if (enrolling) {
    return (
      <main className="signin">
        <TotpEnrolment
          email={email.trim()}
          password={password}
          onOpen={(session) => {
            setPassword("");
            onOpen(session);
          }}
          onCancel={() => setEnrolling(false)}
        />
      </main>
    );
  }

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
          {signIn.isPending && <SyncBar progress={progress} />}
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

/**
 * The organization requires two-step verification and this person has none yet: show the
 * authenticator set-up (QR code and secret, only while enrolling) and confirm with a first code.
 */
function TotpEnrolment(props: {
  email: string;
  password: string;
  onOpen: (session: SessionInfo) => void;
  onCancel: () => void;
}) {
  const [code, setCode] = useState("");
  const setup = useQuery({
    queryKey: ["totp-setup", props.email],
    queryFn: api.beginTotpEnrolment,
    // The secret stays only as long as this screen: never refetched, never kept.
    staleTime: Infinity,
    gcTime: 0,
    retry: false,
  });
  const confirm = useMutation({
    mutationFn: () => api.confirmTotpEnrolment(code, props.password),
    onSuccess: props.onOpen,
  });
  const progress = useSyncProgress(confirm.isPending);
  const error = setup.error ?? confirm.error;
  return (
    <form
      className="card"
      aria-labelledby="enrol-title"
      onSubmit={(e) => {
        e.preventDefault();
        confirm.mutate();
      }}
    >
      <h2 id="enrol-title">Set up two-step verification</h2>
      <p>
        Your organization requires an authenticator code at every sign-in. Scan this code with an authenticator
        app (or type the key), then enter the six-digit code it shows.
      </p>
      {setup.data && (
        <div className="totp-setup">
          <div className="qr" aria-label="QR code for the authenticator app" role="img" dangerouslySetInnerHTML={{ __html: setup.data.qr_svg }} />
          <div>
            <p className="muted">Key for typing in</p>
            <code data-testid="totp-secret">{setup.data.secret}</code>
            <label>
              Code from the app
              <input
                type="text"
                inputMode="numeric"
                pattern="[0-9]{6}"
                maxLength={6}
                required
                autoFocus
                autoComplete="one-time-code"
                value={code}
                onChange={(e) => setCode(e.target.value.replace(/\D/g, ""))}
                data-testid="totp-enrol-code"
              />
            </label>
          </div>
        </div>
      )}
      {setup.isPending && <div className="progress indeterminate" aria-label="Starting enrolment" />}
      {error && (
        <p className="error-note" role="alert">
          {describeError(toIpcError(error))}
        </p>
      )}
      <div className="form-actions">
        <button type="button" onClick={props.onCancel}>
          Back
        </button>
        <button type="submit" className="primary" disabled={!setup.data || code.length !== 6 || confirm.isPending}>
          {confirm.isPending ? "Signing in and syncing…" : "Confirm and sign in"}
        </button>
      </div>
      {confirm.isPending && <SyncBar progress={progress} />}
    </form>
  );
}
