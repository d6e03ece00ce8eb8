#!/usr/bin/env bash
# Bridge A/B: two ominigate-codex binaries (BEFORE and AFTER: another build,
# a release) as bridges in front of the same loopback gateway
# (examples/bridge_bench.rs), their streams taking turns, so that the load
# of a shared machine falls on both alike. For a burst (the gateway sends
# its 2,000 deltas at once) and a paced stream (200 µs after each delta, as
# a model emits tokens): each bridge's CPU time per event (user + system,
# from /proc) and the medians of the time to the response head, to the
# first text event and to the end. Writes the section "Bridge A/B" of
# bench/RESULTS.md.
#
#   bench/bridge_ab.sh BEFORE AFTER [BURST_RUNS [PACED_RUNS]]   # default 60 20
#
# BEFORE_LABEL and AFTER_LABEL name them in the table (default: the paths).
# The floor: the benchmark's own client reading the paced gateway directly,
# its CPU per event (what receiving one delta at a time costs this machine).
#
# Runs in a loopback-only network namespace (`unshare -rn`). Needs cargo,
# python3, unshare and ip.
set -euo pipefail

if [ "${1:-}" != --inside ]; then
    [ $# -ge 2 ] || { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    cd "$root"
    cargo build --release --quiet --example bridge_bench
    before=$(realpath "$1") after=$(realpath "$2")
    exec unshare -rn bash -c 'ip link set lo up && exec "$0" --inside "$@"' "$0" \
        "$before" "$after" "${3:-60}" "${4:-20}" "$root" \
        "${BEFORE_LABEL:-before: $1}" "${AFTER_LABEL:-after: $2}" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
fi
shift
before=$1 after=$2 burst_runs=$3 paced_runs=$4 root=$5 before_v=$6 after_v=$7 load=$8
bench=${CARGO_TARGET_DIR:-$root/target}/release/examples/bridge_bench
work=$(mktemp -d "${TMPDIR:-/tmp}/ominigate-bridge-ab.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

# start NAME CMD...: in the background; its URL (first line) in $url.
start() {
    local name=$1
    shift
    HOME=$work CODEX_HOME=$work/codex "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 1 200); do
        url=$(sed -n '1s/^listening on //p' "$work/$name.out")
        [ -n "$url" ] && return 0
        sleep 0.05
    done
    echo "bridge_ab: $name did not start" >&2
    cat "$work/$name.err" >&2
    exit 1
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# round KIND GAP RUNS
round() {
    local kind=$1 gap=$2 runs=$3
    start "$kind-gateway" "$bench" gateway --deltas 2000 --lifetime 900 --gap-us "$gap"
    local gw=$url
    start "$kind-before" "$before" bridge --listen 127.0.0.1:0 --upstream "$gw" -q
    local b_url=$url b_pid=$pid
    start "$kind-after" "$after" bridge --listen 127.0.0.1:0 --upstream "$gw" -q
    local a_url=$url a_pid=$pid
    "$bench" client --url "$b_url" --wire responses >/dev/null
    "$bench" client --url "$a_url" --wire responses >/dev/null
    local b0 a0
    b0=$(ticks "$b_pid") a0=$(ticks "$a_pid")
    for _ in $(seq 1 "$runs"); do
        "$bench" client --url "$b_url" --wire responses >>"$work/$kind.before"
        "$bench" client --url "$a_url" --wire responses >>"$work/$kind.after"
    done
    echo "$(($(ticks "$b_pid") - b0)) $(($(ticks "$a_pid") - a0)) $(getconf CLK_TCK) $((runs * 2000))" >"$work/$kind.cpu"
    # The floor: the client's own CPU reading the gateway directly.
    local TIMEFORMAT='%U %S'
    { time "$bench" client --url "$gw" --wire chat --runs "$runs" >/dev/null; } 2>"$work/$kind.floor"
    echo "== $kind: $runs streams each"
}
round burst 0 "$burst_runs"
round paced 200 "$paced_runs"

python3 - "$work" "$root/bench/RESULTS.md" "$before_v" "$after_v" "$load" <<'PY'
import json, os, statistics, sys
work, out_path, before_v, after_v, load = sys.argv[1:6]
lines = ["## Bridge A/B (bench/bridge_ab.sh)", "",
         "Two bridges in front of the same loopback gateway, their streams taking turns (2,000 deltas each): "
         "a burst (all deltas at once) and a paced stream (200 µs after each delta, as a model emits tokens). "
         "CPU per event: the bridge process's user + system time over its streams / their events. Medians of "
         "the time to the response head, to the first text event and to the end of a stream.", "",
         "| stream | bridge | streams | CPU per event | head | first event | total |",
         "|---|---|---:|---:|---:|---:|---:|"]
for kind in ("burst", "paced"):
    before_t, after_t, hz, events = (int(x) for x in open(os.path.join(work, kind + ".cpu")).read().split())
    for side, label, t in (("before", before_v, before_t), ("after", after_v, after_t)):
        r = [json.loads(l) for l in open(os.path.join(work, f"{kind}.{side}")) if l.strip()]
        med = lambda k: statistics.median(x[k] for x in r) / 1000
        lines.append(f"| {kind} | {label} | {len(r)} | {t / hz * 1e6 / events:.2f} µs | {med('head_us'):.2f} ms | "
                     f"{med('ttfe_us'):.2f} ms | {med('total_us'):.2f} ms |")
    user, system = (float(x) for x in open(os.path.join(work, kind + ".floor")).read().split())
    lines.append(f"| {kind} | floor: the benchmark's client reading the gateway directly | {events // 2000} | "
                 f"{(user + system) * 1e6 / events:.2f} µs | | | |")
lines += ["", f"Load average when started (other work on the machine): {load}.", ""]
section = "\n".join(lines)
print(section)
marker = "## Bridge A/B (bench/bridge_ab.sh)"
text = open(out_path).read()
head, found, rest = text.partition(marker)
after = rest.find("\n## ") if found else -1
tail = rest[after + 1:] if after >= 0 else ""
open(out_path, "w").write(head.rstrip("\n") + "\n\n" + section + ("\n" + tail if tail else ""))
PY
