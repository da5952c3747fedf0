#!/usr/bin/env bash
# Measures Steward Console's start-up, idle memory and matrix scrolling, release build, under
# Xvfb (BENCHMARKS.md, "Steward Console"). Prints one JSON line per run and medians at the end.
#
#   cargo build --release -p steward-console -p steward-platform   # after: npm --prefix ui run build
#   bash tests/e2e/bench-console.sh [RUNS]                          # RUNS start-ups per mode, default 10
#   (MODES="default accelerated env-off" picks webview modes; STARTUP_ONLY=1 skips memory and scroll;
#   SCROLL_ONLY=1 measures only scrolling, RUNS times)
#
# Set-up: `stewardd serve --demo` creates the demo plant, which is then grown to 1,000 users by
# SQL straight into its database (users table and change feed; stewardd is stopped meanwhile).
# The console signs in once (keyring in dbus-run-session, STEWARD_AUTO_SIGN_IN), then stewardd
# stops and every measurement opens that cached profile offline (STEWARD_AUTO_OPEN_OFFLINE).
# STEWARD_BENCH=startup|scroll makes the app report and exit (src-tauri/src/bench.rs, ui/src/bench.ts).
# Needs: Xvfb, dbus-run-session, gnome-keyring, sqlite3, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Everything runs in one D-Bus session with an unlocked keyring, as on a desktop (without a
# session bus the keyring probe at start-up waits).
if [ -z "${BENCH_IN_SESSION:-}" ]; then
  export BENCH_IN_SESSION=1 WORK=$(mktemp -d)
  # The keyring, window state and WebKit's caches stay inside $WORK.
  export XDG_CONFIG_HOME=$WORK/xdg/config XDG_DATA_HOME=$WORK/xdg/data XDG_CACHE_HOME=$WORK/xdg/cache
  mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"
  exec dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec bash "$0" "$@"' "$0" "$@"
fi
RUNS=${1:-10}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
STEWARDD=${STEWARDD:-$TARGET/release/stewardd}
APP=${APP:-$TARGET/release/steward-console}
# The baseline measured in the same run: a minimal Tauri app (tests/e2e/minimal-app), built with
#   cargo build --release --manifest-path tests/e2e/minimal-app/Cargo.toml
MINIMAL=${MINIMAL:-$TARGET/release/minimal-tauri-app}
USERS=${USERS:-1000}
cleanup() {
  [ -n "${platform:-}" ] && kill "$platform" 2>/dev/null || true
  [ -n "${xvfb:-}" ] && kill "$xvfb" 2>/dev/null || true
}
trap cleanup EXIT

start_platform() { # $1: extra flags
  : >"$WORK/stewardd.out"
  "$STEWARDD" serve --data-dir "$WORK/platform" --listen 127.0.0.1:0 ${1:-} >"$WORK/stewardd.out" 2>>"$WORK/stewardd.err" &
  platform=$!
  for _ in $(seq 1 200); do
    grep -q '"api"' "$WORK/stewardd.out" 2>/dev/null && break
    sleep 0.1
  done
  url=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["api"])' "$WORK/stewardd.out")
}
stop_platform() { kill "$platform"; wait "$platform" 2>/dev/null || true; platform=; }

start_platform --demo
read -r email password < <(python3 - "$WORK/stewardd.err" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith('{"demo"'):
        admin = next(u for u in json.loads(line)["demo"]["users"] if u["role"] == "admin")
        print(admin["email"], admin["password"])
        break
PY
)
stop_platform
# Grow the plant to $USERS people: viewers, each also a `user` put in the change feed.
sqlite3 "$WORK/platform/steward.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $USERS - (SELECT count(*) FROM users)),
org AS (SELECT id FROM orgs ORDER BY id LIMIT 1)
INSERT INTO users (id, org_id, email, name, role, active, created_at, version)
SELECT 100000 + i, (SELECT id FROM org), 'bench' || i || '@plant.example', 'Bench Person ' || i, 'viewer', 1,
       CAST(strftime('%s','now') AS INTEGER) * 1000, 1 FROM n;
INSERT INTO changes (org_id, entity, entity_id, op, version, body, at)
SELECT org_id, 'user', id, 'put', 1, json_object('id', id, 'org_id', org_id, 'email', email, 'name', name,
       'role', role, 'active', json('true'), 'totp_enabled', json('false'), 'created_at', created_at, 'version', 1),
       created_at FROM users WHERE id > 100000 ORDER BY id;
SQL
echo "plant: $(sqlite3 "$WORK/platform/steward.db" 'SELECT count(*) FROM users') users" >&2

display=:$((90 + RANDOM % 100))
Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
sleep 1
export DISPLAY=$display
export STEWARD_CONSOLE_DATA_DIR=$WORK/console STEWARD_DEMO_PASSWORD=$password

# Sign in once, online, to fill the cache (the app exits when the role matrix is painted).
start_platform
STEWARD_PLATFORM_URL=$url STEWARD_DEMO_EMAIL=$email STEWARD_AUTO_SIGN_IN=1 STEWARD_BENCH=startup \
  timeout 120 "$APP" >"$WORK/signin.json" 2>"$WORK/signin.log"
echo "first sign-in (online, sync of the plant): $(grep '"bench"' "$WORK/signin.json")" >&2
stop_platform

export STEWARD_AUTO_OPEN_OFFLINE=1
results=$WORK/results.jsonl
tree_memory() { # PSS and RSS (kB) summed over $1 and its descendants
  python3 - "$1" <<'PY'
import os, sys, json
root = int(sys.argv[1]); kids = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            stat = open(f"/proc/{p}/stat").read()
            kids.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(p))
        except OSError:
            pass
todo, tree = [root], []
while todo:
    p = todo.pop(); tree.append(p); todo += kids.get(p, [])
pss = rss = 0; names = []
for p in tree:
    try:
        for line in open(f"/proc/{p}/smaps_rollup"):
            if line.startswith("Pss:"): pss += int(line.split()[1])
            if line.startswith("Rss:"): rss += int(line.split()[1])
        names.append(open(f"/proc/{p}/comm").read().strip())
    except OSError:
        pass
print(json.dumps({"pss_mb": round(pss / 1024, 1), "rss_mb": round(rss / 1024, 1), "processes": names}))
PY
}

# Webview modes: `default` is what users get (hardware acceleration off, src-tauri/src/webview.rs);
# `accelerated` is WebKit's own default (STEWARD_WEBVIEW_ACCELERATION=1); `env-off` adds
# WEBKIT_DISABLE_COMPOSITING_MODE=1 on top of the default, as earlier measurements did.
# `minimal` and `minimal-env-off` are the baseline app, WebKit's default and without compositing.
default_modes="default accelerated"
[ -x "$MINIMAL" ] && default_modes="$default_modes minimal minimal-env-off"
for compositing in ${MODES:-$default_modes}; do
  unset STEWARD_WEBVIEW_ACCELERATION WEBKIT_DISABLE_COMPOSITING_MODE
  bin=$APP
  case $compositing in
    accelerated) export STEWARD_WEBVIEW_ACCELERATION=1 ;;
    env-off | minimal-env-off) export WEBKIT_DISABLE_COMPOSITING_MODE=1 ;;
  esac
  case $compositing in minimal*) bin=$MINIMAL ;; esac
  for i in $(seq 1 "$RUNS"); do
    [ -n "${SCROLL_ONLY:-}" ] && break
    t0=$(date +%s%N)
    line=$(STEWARD_BENCH=startup timeout 60 "$bin" 2>>"$WORK/app.log" | grep '"bench"')
    t1=$(date +%s%N)
    echo "{\"mode\":\"startup\",\"compositing\":\"$compositing\",\"wall_ms\":$(((t1 - t0) / 1000000)),\"app\":$line,\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\"}" | tee -a "$results"
  done
  [ -n "${STARTUP_ONLY:-}" ] && continue
  for i in 1 2 3; do
    [ -n "${SCROLL_ONLY:-}" ] && break
    "$bin" 2>>"$WORK/app.log" &
    app=$!
    sleep 12
    echo "{\"mode\":\"memory\",\"compositing\":\"$compositing\",\"mem\":$(tree_memory $app),\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\"}" | tee -a "$results"
    kill $app; wait $app 2>/dev/null || true
  done
  case $compositing in minimal*) continue ;; esac
  for i in $(seq 1 "$([ -n "${SCROLL_ONLY:-}" ] && echo "$RUNS" || echo 2)"); do
    line=$(STEWARD_BENCH=scroll timeout 300 "$APP" 2>>"$WORK/app.log" | grep '"bench"')
    echo "{\"mode\":\"scroll\",\"compositing\":\"$compositing\",\"app\":$line,\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\"}" | tee -a "$results"
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for comp in dict.fromkeys(r["compositing"] for r in rows):
    pick = lambda m: [r for r in rows if r["mode"] == m and r["compositing"] == comp]
    start = pick("startup"); mem = pick("memory"); scroll = pick("scroll")
    med = lambda xs: statistics.median(xs) if xs else None
    print(json.dumps({
        "webview": comp,
        "startup_ms_median": med([r["app"]["ms_since_start"] for r in start]),
        "startup_ms_min_max": [min(r["app"]["ms_since_start"] for r in start), max(r["app"]["ms_since_start"] for r in start)] if start else None,
        "wall_ms_median": med([r["wall_ms"] for r in start]),
        "pss_mb_median": med([r["mem"]["pss_mb"] for r in mem]),
        "rss_mb_median": med([r["mem"]["rss_mb"] for r in mem]),
        "scroll_max_ms": [r["app"]["report"]["max"] for r in scroll],
        "scroll_p99_ms": [r["app"]["report"]["p99"] for r in scroll],
        "scroll_over32": [r["app"]["report"]["over32"] for r in scroll],
        "scroll_rows": [r["app"]["report"]["rows"] for r in scroll],
    }))
PY
echo "raw: $results" >&2
