import { useCallback, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { Profile } from "./bindings/Profile";
import type { SessionInfo } from "./bindings/SessionInfo";
import type { Welcome } from "./bindings/Welcome";
import { api, describeError, IpcError, toIpcError } from "./ipc";
import { useIdleLock } from "./idle";
import { SignIn } from "./views/SignIn";
import { LockScreen } from "./views/LockScreen";
import { Shell } from "./Shell";
import { benchMark } from "./bench";

type Phase =
  | { kind: "starting" }
  | { kind: "signed-out"; profile?: Profile; notice?: string }
  | { kind: "open"; session: SessionInfo }
  | { kind: "locked"; profile: Profile };

function firstPhase(welcome: Welcome | undefined): Phase {
  if (!welcome) return { kind: "starting" };
  return welcome.session ? { kind: "open", session: welcome.session } : { kind: "signed-out" };
}

export function App() {
  const queryClient = useQueryClient();
  const welcome = useQuery({ queryKey: ["welcome"], queryFn: api.welcome, staleTime: Infinity });
  // Until the user acts, the phase follows from the welcome: rendered in the same pass as the
  // welcome arrives, not one effect later.
  const [chosen, setPhase] = useState<Phase | null>(null);
  const phase: Phase = chosen ?? firstPhase(welcome.data);
  if (welcome.data) benchMark("welcome");

  const opened = useCallback(
    (session: SessionInfo) => {
      // The first view is the role matrix: its answer is asked for while the shell renders.
      void queryClient.prefetchQuery({ queryKey: ["role_matrix"], queryFn: api.roleMatrix, staleTime: Infinity });
      setPhase({ kind: "open", session });
    },
    [queryClient],
  );

  // Everything a profile showed leaves memory; the profile list is read again.
  const dropData = useCallback(() => {
    queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== "welcome" });
    void queryClient.invalidateQueries({ queryKey: ["welcome"] });
  }, [queryClient]);

  const lock = useCallback(async () => {
    if (phase.kind !== "open") return;
    const profile = phase.session.profile;
    try {
      await api.lock();
    } finally {
      // Nothing the profile showed stays in memory while locked.
      dropData();
      setPhase({ kind: "locked", profile });
    }
  }, [phase, dropData]);

  const signedOut = useCallback(
    (profile?: Profile, notice?: string) => {
      dropData();
      setPhase({ kind: "signed-out", profile, notice });
    },
    [dropData],
  );

  const forget = useCallback(
    async (profile: Profile) => {
      await api.lock().catch(() => null);
      let notice = `${profile.email} was signed out and forgotten on this computer.`;
      try {
        await api.forget(profile.id);
      } catch (raw) {
        notice = `Forgetting ${profile.email} did not finish: ${describeError(toIpcError(raw))}`;
      }
      dropData();
      setPhase({ kind: "signed-out", notice });
    },
    [dropData],
  );

  // The org's idle timeout (as of the last sign-in) locks the window; tests may shorten it.
  const orgIdle = phase.kind === "open" ? phase.session.idle_lock_seconds : null;
  const idleSeconds = welcome.data?.idle_lock_seconds ?? orgIdle ?? 30 * 60;
  useIdleLock(idleSeconds, phase.kind === "open", () => {
    void lock();
  });

  if (welcome.isError) {
    const e = toIpcError(welcome.error);
    return (
      <main className="fatal" role="alert">
        <h1>Steward Console could not start</h1>
        <p>{describeError(e)}</p>
      </main>
    );
  }

  switch (phase.kind) {
    case "starting":
      return (
        <main className="starting" aria-busy="true">
          <p>Starting Steward Console…</p>
        </main>
      );
    case "signed-out":
      return welcome.data ? (
        <SignIn
          welcome={welcome.data}
          profile={phase.profile}
          notice={phase.notice}
          onOpen={opened}
        />
      ) : (
        <main className="starting" aria-busy="true">
          <p>Loading profiles…</p>
        </main>
      );
    case "locked":
      return (
        <LockScreen
          profile={phase.profile}
          onUnlock={opened}
          onSwitch={() => signedOut(phase.profile)}
          onForget={() => forget(phase.profile)}
        />
      );
    case "open":
      return (
        <Shell
          session={phase.session}
          onLock={() => void lock()}
          onForget={() => forget(phase.session.profile)}
          onSignInAgain={(e: IpcError | null) =>
            signedOut(phase.session.profile, e ? describeError(e) : undefined)
          }
        />
      );
  }
}
