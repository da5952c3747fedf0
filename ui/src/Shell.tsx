import { lazy, Suspense, useCallback, useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { listen } from "@tauri-apps/api/event";
import { useSyncProgress } from "./views/SyncBar";
import { syncChangedData, syncWords, type SyncRound } from "./progress";
import type { SessionInfo } from "./bindings/SessionInfo";
import type { LiveEvent } from "./bindings/LiveEvent";
import { api, describeError, IpcError, isSessionEnded, toIpcError } from "./ipc";
import { formatDataAge, formatQueue, isStale } from "./format";
import { RoleMatrixView } from "./views/RoleMatrixView";
import { ConfirmDialog } from "./views/Dialog";
import { BrandMark } from "./views/BrandMark";
import { benchMark, useBenchMode } from "./bench";

// The role matrix is the first view painted; every other view is its own chunk, loaded when its
// tab is first opened, so start-up parses only what the first paint needs.
const EffectiveMatrixView = lazy(() => import("./views/EffectiveMatrixView").then((m) => ({ default: m.EffectiveMatrixView })));
const PeopleView = lazy(() => import("./views/PeopleView").then((m) => ({ default: m.PeopleView })));
const ExplainerView = lazy(() => import("./views/ExplainerView").then((m) => ({ default: m.ExplainerView })));
const OutboxView = lazy(() => import("./views/OutboxView").then((m) => ({ default: m.OutboxView })));
const AssetsView = lazy(() => import("./views/AssetsView").then((m) => ({ default: m.AssetsView })));
const AuditView = lazy(() => import("./views/AuditView").then((m) => ({ default: m.AuditView })));
const KeysView = lazy(() => import("./views/KeysView").then((m) => ({ default: m.KeysView })));
const LegacyView = lazy(() => import("./views/LegacyView").then((m) => ({ default: m.LegacyView })));
const GroupsView = lazy(() => import("./views/GroupsView").then((m) => ({ default: m.GroupsView })));
const ProjectsView = lazy(() => import("./views/ProjectsView").then((m) => ({ default: m.ProjectsView })));
const WhoCanView = lazy(() => import("./views/WhoCanView").then((m) => ({ default: m.WhoCanView })));
const WorkforceView = lazy(() => import("./views/WorkforceView").then((m) => ({ default: m.WorkforceView })));
const DevicesView = lazy(() => import("./views/DevicesView").then((m) => ({ default: m.DevicesView })));
const AlertsView = lazy(() => import("./views/AlertsView").then((m) => ({ default: m.AlertsView })));

/** The views in nav order, grouped; `key` is the Alt+digit shortcut (the first five views keep
 *  theirs). Arrow keys move through the tabs in this order. */
const TABS = [
  { id: "roles", label: "Role matrix", group: "Access", key: 1 },
  { id: "effective", label: "Effective access", group: "Access", key: 2 },
  { id: "explain", label: "Why / why not", group: "Access", key: 4 },
  { id: "whocan", label: "Who can", group: "Access", key: null },
  { id: "workforces", label: "Workforces", group: "Access", key: null },
  { id: "people", label: "People", group: "Directory", key: 3 },
  { id: "groups", label: "Groups", group: "Directory", key: null },
  { id: "projects", label: "Projects", group: "Directory", key: null },
  { id: "assets", label: "Assets", group: "Directory", key: null },
  { id: "devices", label: "Devices", group: "Devices", key: null },
  { id: "alerts", label: "Alerts", group: "Devices", key: null },
  { id: "keys", label: "API keys", group: "Administration", key: null },
  { id: "audit", label: "Audit log", group: "Administration", key: null },
  { id: "legacy", label: "Legacy review", group: "Administration", key: null },
  { id: "changes", label: "Changes", group: "Changes", key: 5 },
] as const;

type TabId = (typeof TABS)[number]["id"];

const TAB_GROUPS = [...new Set(TABS.map((t) => t.group))];

/** How often the console pulls the change feed (and sends queued changes) on its own. */
const SYNC_EVERY_MS = 2 * 60 * 1000;
/** How long after an offline open the platform is first tried. */
const FIRST_SYNC_AFTER_MS = 1000;

interface Props {
  session: SessionInfo;
  onLock: () => void;
  onForget: () => Promise<void>;
  onSignInAgain: (reason: IpcError | null) => void;
}

export function Shell({ session: initial, onLock, onForget, onSignInAgain }: Props) {
  const queryClient = useQueryClient();
  const bench = useBenchMode();
  benchMark("shell");
  const [tab, setTab] = useState<TabId>(bench === "scroll" ? "effective" : "roles");
  const [now, setNow] = useState(() => new Date());
  const [syncError, setSyncError] = useState<IpcError | null>(null);
  const [confirmForget, setConfirmForget] = useState(false);
  const tabRefs = useRef<Array<HTMLButtonElement | null>>([]);
  const unseenAlerts = useUnseenAlerts(tab === "alerts");

  const sessionQuery = useQuery({
    queryKey: ["session"],
    queryFn: api.session,
    initialData: initial,
    refetchInterval: 30_000,
  });
  const session = sessionQuery.data;

  useEffect(() => {
    const t = window.setInterval(() => setNow(new Date()), 30_000);
    return () => window.clearInterval(t);
  }, []);

  const sync = useMutation({
    mutationFn: async (): Promise<{ round: SyncRound; error: IpcError | null }> => {
      const before = await api.session();
      const round: SyncRound = { replayed: false, applied: null, wasOnline: before.online };
      try {
        if (before.age.pending > 0) {
          round.replayed = true;
          try {
            await api.replay();
          } catch (raw) {
            const e = toIpcError(raw);
            if (!e.is("offline")) throw e;
          }
        }
        round.applied = (await api.sync()).applied;
        return { round, error: null };
      } catch (raw) {
        return { round, error: toIpcError(raw) };
      }
    },
    onSettled: (outcome, raw) => {
      setSyncError(outcome?.error ?? (raw ? toIpcError(raw) : null));
      // The session's status and data age always; the views only when their data may differ.
      if (!outcome || syncChangedData(outcome.round)) {
        void queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "welcome" });
      } else {
        void queryClient.invalidateQueries({ queryKey: ["session"] });
      }
    },
  });
  const progress = useSyncProgress(sync.isPending);

  const runSync = sync.mutate;

  useEffect(() => {
    // A profile opened offline tries the platform once the first view is on screen (the cache
    // answers first; a platform that is down must not hold up the paint), then every few minutes.
    const first = initial.online ? undefined : window.setTimeout(() => runSync(), FIRST_SYNC_AFTER_MS);
    const t = window.setInterval(() => runSync(), SYNC_EVERY_MS);
    return () => {
      window.clearTimeout(first);
      window.clearInterval(t);
    };
  }, [initial.online, runSync]);

  useEffect(() => {
    // Alt+1 … Alt+5 switch views from anywhere.
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const index = TABS.findIndex((t) => t.key !== null && t.key === Number(e.key));
      const target = TABS[index];
      if (target) {
        e.preventDefault();
        setTab(target.id);
        tabRefs.current[index]?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const onTabKey = useCallback((e: KeyboardEvent, index: number) => {
    let next = index;
    if (e.key === "ArrowRight") next = (index + 1) % TABS.length;
    else if (e.key === "ArrowLeft") next = (index - 1 + TABS.length) % TABS.length;
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = TABS.length - 1;
    else return;
    e.preventDefault();
    const target = TABS[next];
    if (target) {
      setTab(target.id);
      tabRefs.current[next]?.focus();
    }
  }, []);

  const age = session.age;
  const queue = formatQueue(age);
  const ended = syncError !== null && isSessionEnded(syncError);
  // A platform that is down is a status, said in the top bar beside the data's age, not a banner:
  // it comes and goes with every sync attempt, and a banner appearing would move the view under
  // the user's pointer. Errors that need the user (a session that ended) keep the banner.
  const unreachable = syncError?.is("offline") ? syncError : null;
  const ageText = formatDataAge(age, now);

  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <BrandMark />
          <div>
            <div className="org">{session.profile.org_name}</div>
            <div className="user">
              {session.profile.display_name} · {session.profile.email}
            </div>
          </div>
        </div>
        <div className="status" aria-live="polite">
          <span
            className={`age ${age.online ? "online" : "offline"} ${isStale(age, now) ? "stale" : ""}`}
            title={age.synced_at ? new Date(age.synced_at).toLocaleString() : "never synced"}
            data-testid="data-age"
          >
            <span className="dot" aria-hidden="true" />
            {ageText}
          </span>
          {queue && (
            <button type="button" className="queue" onClick={() => setTab("changes")} data-testid="queue">
              {queue}
            </button>
          )}
          {sync.isPending ? (
            <span className="syncing" data-testid="syncing">
              {syncWords(progress)}
            </span>
          ) : (
            unreachable && (
              <span className="syncing" data-testid="unreachable" title={describeError(unreachable)}>
                Cannot reach the platform · working from the cache
              </span>
            )
          )}
        </div>
        <div className="actions">
          <button type="button" onClick={() => runSync()} disabled={sync.isPending} data-testid="sync-now">
            Sync now
          </button>
          <button type="button" onClick={onLock}>
            Lock
          </button>
          <button type="button" className="danger-quiet" onClick={() => setConfirmForget(true)}>
            Sign out and forget
          </button>
        </div>
      </header>

      {syncError && !unreachable && (
        <div className={`banner ${ended ? "warn" : "info"}`} role="status">
          <span>{describeError(syncError)}</span>
          {ended && (
            <button type="button" onClick={() => onSignInAgain(syncError)}>
              Sign in again
            </button>
          )}
        </div>
      )}

      <nav className="tabs" role="tablist" aria-label="Views">
        {TAB_GROUPS.map((group) => (
          <div key={group} className="tab-group" role="presentation">
            <span className="tab-group-label" aria-hidden="true">
              {group}
            </span>
            {TABS.map((t, i) =>
              t.group !== group ? null : (
                <button
                  key={t.id}
                  ref={(el) => {
                    tabRefs.current[i] = el;
                  }}
                  type="button"
                  role="tab"
                  id={`tab-${t.id}`}
                  data-testid={`tab-${t.id}`}
                  aria-selected={tab === t.id}
                  aria-controls={`panel-${t.id}`}
                  aria-keyshortcuts={t.key !== null ? `Alt+${t.key}` : undefined}
                  title={t.key !== null ? `Alt+${t.key}` : undefined}
                  tabIndex={tab === t.id ? 0 : -1}
                  className={tab === t.id ? "active" : ""}
                  onClick={() => setTab(t.id)}
                  onKeyDown={(e) => onTabKey(e, i)}
                >
                  {t.label}
                  {t.id === "changes" && age.pending + age.conflicts > 0 && (
                    <span className="count">{age.pending + age.conflicts}</span>
                  )}
                  {t.id === "alerts" && unseenAlerts > 0 && (
                    <span className="count alert-count" data-testid="alerts-unseen" title="Alerts fired since you last looked">
                      {unseenAlerts}
                    </span>
                  )}
                </button>
              ),
            )}
          </div>
        ))}
      </nav>

      <main className="panel" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        <Suspense fallback={<p className="muted">Loading…</p>}>
          {tab === "roles" && <RoleMatrixView ageText={ageText} />}
          {tab === "effective" && <EffectiveMatrixView ageText={ageText} />}
          {tab === "people" && <PeopleView ageText={ageText} online={age.online} />}
          {tab === "explain" && <ExplainerView ageText={ageText} />}
          {tab === "whocan" && <WhoCanView ageText={ageText} />}
          {tab === "workforces" && <WorkforceView ageText={ageText} />}
          {tab === "groups" && <GroupsView ageText={ageText} online={age.online} />}
          {tab === "projects" && <ProjectsView ageText={ageText} online={age.online} />}
          {tab === "assets" && <AssetsView ageText={ageText} online={age.online} />}
          {tab === "devices" && <DevicesView ageText={ageText} />}
          {tab === "alerts" && <AlertsView ageText={ageText} />}
          {tab === "keys" && <KeysView ageText={ageText} online={age.online} />}
          {tab === "audit" && <AuditView />}
          {tab === "legacy" && <LegacyView ageText={ageText} online={age.online} />}
          {tab === "changes" && <OutboxView ageText={ageText} onSend={() => runSync()} sending={sync.isPending} />}
        </Suspense>
      </main>

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
            This deletes the cached data of {session.profile.email} on this computer and removes its sign-in
            token from the system keyring.
            {age.pending + age.conflicts > 0 &&
              ` ${age.pending + age.conflicts} change(s) not yet accepted by the platform will be lost.`}
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** Alerts that arrived live since the Alerts tab was last open (reset when it opens). Listens
 *  only after the first paint (an effect; the event module is already in the start-up chunk,
 *  for the sync bar), and the live connection starts only when Devices or Alerts opens. */
function useUnseenAlerts(looking: boolean): number {
  const [unseen, setUnseen] = useState(0);
  const lookingRef = useRef(looking);
  lookingRef.current = looking;
  useEffect(() => {
    if (looking) setUnseen(0);
  }, [looking]);
  useEffect(() => {
    let stop: (() => void) | null = null;
    let gone = false;
    listen<LiveEvent>("live-alert", (e) => {
      if (e.payload.kind === "alert" && !lookingRef.current) setUnseen((n) => n + 1);
    })
      .then((f) => {
        if (gone) f();
        else stop = f;
      })
      .catch(() => {});
    return () => {
      gone = true;
      stop?.();
    };
  }, []);
  return unseen;
}
