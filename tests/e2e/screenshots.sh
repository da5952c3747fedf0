#!/usr/bin/env bash
# Runs Steward Console under Xvfb against a local `stewardd serve --demo`, signs in as the demo
# admin with the keyboard (xdotool), and saves screenshots of each view under
# tests/e2e/screenshots/ (not committed) for a person to look at.
#
#   bash tests/e2e/screenshots.sh        # after: npm --prefix ui run build; cargo build -p steward-console -p steward-platform
#
# Needs: Xvfb, xdotool, imagemagick (import), dbus-run-session, gnome-keyring (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/tests/e2e/screenshots
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
STEWARDD=${STEWARDD:-$TARGET/debug/stewardd}
APP=${APP:-$TARGET/debug/steward-console}

if [ "${1:-}" = "--inside" ]; then
  # Second stage: inside the D-Bus session with an unlocked keyring, on the Xvfb display. The
  # window is 1400x900 at 0,0; clicks use the layout's coordinates, views switch with Alt+N.
  shot() {
    sleep "${2:-1.5}"
    import -window root "$OUT/$1.png"
    echo "screenshot: tests/e2e/screenshots/$1.png"
  }
  keys() { xdotool key --delay 80 "$@"; }
  click() { xdotool mousemove "$1" "$2" click 1; }
  "$APP" >"$WORK/app.log" 2>&1 &
  app=$!
  win=$(xdotool search --sync --onlyvisible --name "Steward Console" | head -n1)
  xdotool windowmove "$win" 0 0 windowsize "$win" 1400 900
  shot 01-sign-in 4
  # Platform, email and password are prefilled: focus the password field and submit.
  keys Tab Tab Tab Return
  shot 02-role-matrix 8
  keys alt+2; shot 03-effective-matrix
  keys alt+3; shot 04-people
  # Change the role of the last person (Tomás Ortega, a technician) to member: the preview first.
  click 1148 750; sleep 1
  click 610 433; shot 05-change-role-preview
  keys Tab Tab Return; shot 06-change-role-saved 2.5
  keys Escape
  # Scenario 4: the workforce names the agent Henrik Larsen may not run.
  keys alt+4; sleep 1
  click 700 290; keys Tab; xdotool type --delay 80 "Hen"; keys Tab Tab; xdotool type --delay 80 "Shift"
  keys Tab Return; shot 07-explainer-missing-agent
  # Scenario 6: the platform goes away.
  kill "$(cat "$WORK/stewardd.pid")"; sleep 0.5
  keys alt+1; click 1098 28; shot 08-offline 4
  click 1182 28; shot 09-locked
  xdotool type --delay 20 "$STEWARD_DEMO_PASSWORD"; keys Return; sleep 3
  # Offline, Aisha Bello (the first row) becomes member: queued.
  keys alt+3; sleep 1; click 1148 293; sleep 1; click 610 433; sleep 1.5; keys Tab Tab Return; sleep 2
  keys Escape; keys alt+5; shot 10-queued-offline
  # The platform returns, and meanwhile someone made Aisha a viewer there.
  bash "$0" --restart-and-conflict
  click 1098 28; sleep 4; keys alt+5; shot 11-conflict
  click 86 464; shot 12-kept-mine 3
  # Lock, then sign out and forget from the lock screen: back to sign-in, no cached profile.
  click 1182 28; sleep 1.5
  click 590 582; sleep 1; keys Tab Return; shot 13-forgotten 2.5
  kill "$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
  exit 0
fi

if [ "${1:-}" = "--restart-and-conflict" ]; then
  port=${STEWARD_PLATFORM_URL##*:}
  "$STEWARDD" serve --data-dir "$WORK/platform" --listen "127.0.0.1:$port" >"$WORK/stewardd2.out" 2>>"$WORK/stewardd2.err" &
  echo $! >"$WORK/stewardd.pid"
  for _ in $(seq 1 100); do
    grep -q '"api"' "$WORK/stewardd2.out" 2>/dev/null && break
    sleep 0.2
  done
  python3 - "$WORK/stewardd.err" "$STEWARD_PLATFORM_URL" <<'PY'
import json, sys, urllib.request
demo = next(json.loads(l)["demo"] for l in open(sys.argv[1]) if l.startswith('{"demo"'))
owner = next(u for u in demo["users"] if u["role"] == "owner")
aisha = next(u for u in demo["users"] if u["name"] == "Aisha Bello")
api = sys.argv[2] + "/api/v1"
def call(method, path, body, token=None):
    req = urllib.request.Request(api + path, method=method, data=json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    return json.load(urllib.request.urlopen(req))
token = call("POST", "/session", {"email": owner["email"], "password": owner["password"]})["token"]
req = urllib.request.Request(api + "/users", headers={"authorization": "Bearer " + token})
listing = json.load(urllib.request.urlopen(req))
rows = listing["users"] if isinstance(listing, dict) else listing
uid = next(u["id"] for u in rows if u["email"] == aisha["email"])
call("PATCH", f"/users/{uid}", {"role": "viewer"}, token)
print("the platform is back; Aisha Bello was made viewer there meanwhile")
PY
  exit 0
fi

mkdir -p "$OUT"
WORK=$(mktemp -d)
export WORK
cleanup() {
  kill "$(cat "$WORK/stewardd.pid" 2>/dev/null)" 2>/dev/null || true
  [ -n "${xvfb:-}" ] && kill "$xvfb" 2>/dev/null || true
}
trap cleanup EXIT

"$STEWARDD" serve --data-dir "$WORK/platform" --listen 127.0.0.1:0 --demo >"$WORK/stewardd.out" 2>"$WORK/stewardd.err" &
platform=$!
echo "$platform" >"$WORK/stewardd.pid"
for _ in $(seq 1 200); do
  grep -q '"api"' "$WORK/stewardd.out" 2>/dev/null && break
  sleep 0.2
done
url=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["api"])' "$WORK/stewardd.out")
read -r email password < <(python3 - "$WORK/stewardd.err" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        demo = json.loads(line)["demo"]
    except Exception:
        continue
    admin = next(u for u in demo["users"] if u["role"] == "admin")
    print(admin["email"], admin["password"])
    break
PY
)
echo "stewardd at $url; signing in as $email"

display=:$((90 + RANDOM % 100))
Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
sleep 1

export DISPLAY=$display
export WEBKIT_DISABLE_COMPOSITING_MODE=1
export STEWARD_PLATFORM_URL=$url STEWARD_DEMO_EMAIL=$email STEWARD_DEMO_PASSWORD=$password
export STEWARD_CONSOLE_DATA_DIR=$WORK/console
export APP OUT STEWARDD
dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec bash "$0" --inside' "$ROOT/tests/e2e/screenshots.sh"
echo "app log: $WORK/app.log"
