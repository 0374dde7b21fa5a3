#!/usr/bin/env bash
# check_team.sh: a Nagios/Icinga/cron-style check of a team-agent team, one line of output.
#
# Usage: check_team.sh [--max-age SECONDS] [--refresh] [TEAM-AGENT OPTIONS...]
#   e.g. check_team.sh -f ~/src/myproject/team.spec.yaml --max-age 300
# TEAM-AGENT OPTIONS go before `status` (-f SPEC, --tmux-socket NAME). $TEAM_AGENT names
# the team-agent executable (default: team-agent on PATH). Needs python3, not jq.
#
# Reads `team-agent status -o json` (the last status.json; it changes nothing), or with
# --refresh `team-agent status --refresh -o json` (observes the team now; no lock, no
# write: for teams no `team-agent run` keeps current), and exits:
#   0 OK        team Ready=True
#   1 WARNING   the status is stale (observed longer ago than the resync interval and no
#               reconciler holds the workspace: its conditions read Unknown), team
#               Reconciling=True (work in flight: agents starting or restarting), an
#               agent Stalled=True (Stuck: no progress on its open work), an agent waiting
#               for a person at a tool permission prompt (AwaitingApproval), or the last
#               pass is older than --max-age (is `team-agent run` running?)
#   2 CRITICAL  team Stalled=True, any agent CrashLoopBackOff=True, or the team is not
#               Ready with nothing in flight (e.g. an agent exited and is not restarted;
#               with --refresh, agents not running and no reconciler to start them)
#   3 UNKNOWN   no status to read (never reconciled, unreadable, bad JSON)
# A Stalled team or a crash-looping agent is CRITICAL even while Ready or Reconciling.
# See deploy/monitoring/README.md for the conditions and their reasons.
set -uo pipefail

max_age=0
refresh=()
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --max-age) max_age=${2:-}; shift 2 || shift ;;
    --max-age=*) max_age=${1#--max-age=}; shift ;;
    --refresh) refresh=(--refresh); shift ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 3 ;;
    *) args+=("$1"); shift ;;
  esac
done
case "$max_age" in
  '' | *[!0-9]*) echo "TEAM UNKNOWN - --max-age takes whole seconds, got '$max_age'"; exit 3 ;;
esac

err=$(mktemp "${TMPDIR:-/tmp}/check_team.XXXXXX")
trap 'rm -f "$err"' EXIT
json=$("${TEAM_AGENT:-team-agent}" ${args[@]+"${args[@]}"} status ${refresh[@]+"${refresh[@]}"} -o json 2>"$err")
rc=$?
if [ "$rc" -ne 0 ]; then
  why=$(head -n 1 "$err")
  echo "TEAM UNKNOWN - team-agent status failed (exit $rc): ${why:-no output}"
  exit 3
fi

# The check itself, in Python so that no jq is needed; the status JSON comes on stdin.
read -r -d '' check <<'PY' || true  # read, not $(cat): bash 3.2 (macOS) mis-parses heredocs in $( )
import json
import sys
from datetime import datetime, timezone


def conditions(entry):
    return {c["type"]: c for c in (entry or {}).get("conditions") or []}


def is_true(table, kind):
    return (table.get(kind) or {}).get("status") == "True"


def describe(table, kind):
    c = table.get(kind) or {}
    text = f"{kind}={c.get('status', 'Unknown')}"
    if c.get("reason"):
        text += f" ({c['reason']})"
    if c.get("message"):
        text += f": {c['message']}"
    return text


def age_of(status):
    """Seconds since the last pass started, or None when unknown."""
    started = (status.get("lastReconcile") or {}).get("startedAt")
    if not isinstance(started, str):
        return None
    try:
        when = datetime.fromisoformat(started.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (datetime.now(timezone.utc) - when).total_seconds()


def check(status, max_age):
    team = status.get("team") or "?"
    conds = conditions(status)
    agents = {name: conditions(entry) for name, entry in sorted(status["agents"].items())}
    ready = sum(is_true(c, "Ready") for c in agents.values())
    restarts = sum(int(e.get("restartCount") or 0) for e in status["agents"].values())
    looping = [name for name, c in agents.items() if is_true(c, "CrashLoopBackOff")]
    stuck = [name for name, c in agents.items() if is_true(c, "Stalled")]
    asking = [
        name for name, c in agents.items() if (c.get("Ready") or {}).get("reason") == "AwaitingApproval"
    ]
    not_ready = [name for name, c in agents.items() if not is_true(c, "Ready")]
    age = age_of(status)
    seen = status.get("observation") or {}  # absent from an older team-agent's output
    # A preview with no reconciler: whatever it says is in flight, nothing will do it.
    idle = seen.get("source") == "refresh" and not seen.get("reconciler")
    if seen.get("stale"):
        when = "never" if seen.get("ageSec") is None else f"{seen['ageSec']}s ago"
        code, text = 1, (
            f"status is stale (observed {when}, no reconciler holds the workspace): "
            "is `team-agent run` running? (--refresh observes now)"
        )
    elif is_true(conds, "Stalled"):
        code, text = 2, describe(conds, "Stalled")
    elif looping:
        code, text = 2, "CrashLoopBackOff=True: " + ", ".join(looping)
    elif max_age and (age is None or age > max_age):
        when = "at an unknown time" if age is None else f"{age:.0f}s ago"
        code, text = 1, f"last reconcile {when} (> {max_age}s): is `team-agent run` running?"
    elif stuck:
        code, text = 1, "; ".join(describe(agents[name], "Stalled") for name in stuck)
    elif asking and set(not_ready) <= set(asking):
        code, text = 1, "AwaitingApproval (team-agent approvals): " + ", ".join(asking)
    elif is_true(conds, "Ready"):
        code, text = 0, describe(conds, "Ready")
    elif is_true(conds, "Reconciling") and not idle:
        code, text = 1, describe(conds, "Reconciling") + "; " + describe(conds, "Ready")
    else:
        why = " (no reconciler holds the workspace)" if idle else ""
        code, text = 2, describe(conds, "Ready") + "; nothing in flight" + why
    label = ("OK", "WARNING", "CRITICAL")[code]
    print(f"TEAM {label} - {team}: {text} | agents={len(agents)} ready={ready} restarts={restarts}")
    return code


try:
    sys.exit(check(json.load(sys.stdin), int(sys.argv[1])))
except Exception as err:  # a broken check must say UNKNOWN, never WARNING or OK
    print(f"TEAM UNKNOWN - cannot read the status JSON: {type(err).__name__}: {err}")
    sys.exit(3)
PY
command -v python3 >/dev/null 2>&1 || { echo "TEAM UNKNOWN - python3 not found"; exit 3; }
printf '%s' "$json" | python3 -c "$check" "$max_age"
