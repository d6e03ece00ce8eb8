#!/usr/bin/env bash
# Instructions per streamed event of one bridge binary, under callgrind
# (stable on a shared machine, unlike CPU time): the bridge in front of
# the loopback gateway of examples/bridge_bench.rs; one warm-up stream,
# then the counters zeroed, RUNS streams of DELTAS deltas (GAP_US µs after
# each: paced), and the counters dumped. Under callgrind the bridge runs
# ~50x slower: keep GAP_US in the milliseconds for a paced stream (default
# 500 deltas, 5 ms apart, one stream); GAP_US=0 is a burst.
#
#   bench/bridge_callgrind.sh BRIDGE [DELTAS [GAP_US [RUNS]]]
#
# Prints the instructions per event; the profile stays in the printed file
# (callgrind_annotate it). Runs in a loopback-only network namespace
# (`unshare -rn`). Needs cargo, valgrind, unshare and ip.
set -euo pipefail

if [ "${1:-}" != --inside ]; then
    [ $# -ge 1 ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    cd "$root"
    cargo build --release --quiet --example bridge_bench
    exec unshare -rn bash -c 'ip link set lo up && exec "$0" --inside "$@"' "$0" \
        "$(realpath "$1")" "${2:-500}" "${3:-5000}" "${4:-1}" "$root"
fi
shift
bin=$1 deltas=$2 gap=$3 runs=$4 root=$5
bench=${CARGO_TARGET_DIR:-$root/target}/release/examples/bridge_bench
work=$(mktemp -d "${TMPDIR:-/tmp}/ominigate-bridge-cg.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# url FILE: the URL its process printed first, once it did.
url() {
    for _ in $(seq 1 300); do
        sed -n '1s/^listening on //p' "$1" | grep . && return 0
        sleep 0.1
    done
    echo "bridge_callgrind: no URL in $1" >&2
    exit 1
}
"$bench" gateway --deltas "$deltas" --lifetime 600 --gap-us "$gap" >"$work/gw.out" &
pids+=($!)
gw=$(url "$work/gw.out")
HOME=$work CODEX_HOME=$work/codex valgrind --tool=callgrind \
    --callgrind-out-file="$work/callgrind.%p" "$bin" bridge --listen 127.0.0.1:0 \
    --upstream "$gw" -q >"$work/bridge.out" 2>"$work/bridge.err" &
bridge=$!
pids+=("$bridge")
b_url=$(url "$work/bridge.out")
"$bench" client --url "$b_url" --wire responses --deltas "$deltas" >/dev/null
callgrind_control --zero "$bridge" >/dev/null 2>&1
"$bench" client --url "$b_url" --wire responses --deltas "$deltas" --runs "$runs" >/dev/null
callgrind_control --dump=measured "$bridge" >/dev/null 2>&1
profile=$work/callgrind.$bridge.1
for _ in $(seq 1 50); do [ -s "$profile" ] && break; sleep 0.1; done
ir=$(callgrind_annotate "$profile" | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
echo "$((ir / (deltas * runs))) instructions per event ($deltas deltas x $runs, ${gap} µs apart; profile: $profile)"
