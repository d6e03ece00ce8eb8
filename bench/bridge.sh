#!/usr/bin/env bash
# Bridge benchmark: a fast loopback chat-completions gateway streams 2,000
# deltas per request (examples/bridge_bench.rs). The same client reads them
#   - directly from the gateway (chat completions): the floor;
#   - through `ominigate-codex bridge` (Responses events);
#   - through LiteLLM's Responses bridge (its proxy, `/v1/responses` on a
#     chat-only model): the peer.
# It reports the time to the first text event, the added time per event, the
# bridge's own CPU time per event (user + system, from /proc: stable on a
# shared machine, where latency is not; also with a paced gateway, one
# delta every 200 µs as a model emits tokens), the total time, and peak RSS with
# 64 concurrent streams (all must complete),
# and writes them with the ratios to LiteLLM into bench/RESULTS.md (the
# section "Bridge"; bench/run.sh keeps it).
#
#   bench/bridge.sh            # full run (a few minutes; LiteLLM is the slow part)
#   bench/bridge.sh --quick    # fewer rounds: a smoke test, rough numbers
#   bench/bridge.sh --no-litellm
#   bench/bridge.sh --bin PATH # measure that ominigate-codex binary (another
#                              # build, for a before/after) instead of building one
#   bench/bridge.sh --rt       # the gateway, the bridge and their client at
#                              # real-time priority (`chrt -f 10`, a few seconds;
#                              # LiteLLM stays normal): on a machine loaded by
#                              # other work, sub-millisecond times are otherwise
#                              # the scheduler's, not the bridge's
#
# Everything runs in a network namespace whose only interface is loopback
# (`unshare -rn`), so neither side can reach anything else; LiteLLM is also
# told to use its bundled model cost map and to send no telemetry. LiteLLM
# (PyPI `litellm[proxy]`, version $LITELLM_VERSION, default 1.108.7) is
# installed into a venv under ${XDG_CACHE_HOME:-~/.cache}/ominigate-codex/
# the first time. Needs: cargo, python3 with venv, unshare and ip.
set -euo pipefail

quick=0
rt=0
bin_arg=
litellm=1
inside=0
want_bin=0
for arg in "$@"; do
    if [ "$want_bin" = 1 ]; then
        bin_arg=$arg
        want_bin=0
        continue
    fi
    case "$arg" in
    --bin) want_bin=1 ;;
    --quick) quick=1 ;;
    --no-litellm) litellm=0 ;;
    --rt) rt=1 ;;
    --inside) inside=1 ;;
    -h | --help)
        sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "bench/bridge.sh: unknown option $arg (try --help)" >&2
        exit 2
        ;;
    esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
bin=${bin_arg:-$target_dir/release/ominigate-codex}
bench=$target_dir/release/examples/bridge_bench
venv=${XDG_CACHE_HOME:-$HOME/.cache}/ominigate-codex/litellm-venv
litellm_version=${LITELLM_VERSION:-1.108.7}
deltas=2000

if [ "$inside" = 0 ]; then
    if [ -z "$bin_arg" ]; then
        echo "== building (cargo build --release: the binary and examples/bridge_bench)"
        cargo build --release --quiet --bin ominigate-codex --example bridge_bench
    else
        echo "== building examples/bridge_bench; measuring $bin_arg"
        cargo build --release --quiet --example bridge_bench
    fi
    if [ "$litellm" = 1 ] && ! "$venv/bin/python" -c 'import litellm.proxy' 2>/dev/null; then
        echo "== installing litellm[proxy]==$litellm_version into $venv"
        python3 -m venv "$venv" || {
            echo "cannot create a venv: install python3-venv (apt-get install python3-venv)" >&2
            exit 1
        }
        "$venv/bin/pip" install --quiet --disable-pip-version-check "litellm[proxy]==$litellm_version"
    fi
    # The machine, asked here (the namespace hides nothing of it, but git
    # and rustc are simplest outside).
    machine=$(mktemp)
    mem_kib=$(awk '/MemTotal/ {print $2}' /proc/meminfo)
    {
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "- CPU: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores available (shared with other work while measured)"
        echo "- memory: $((mem_kib / 1024 / 1024)) GiB; OS: $(uname -sr)"
        echo "- $(rustc --version); release profile (fat LTO, one codegen unit)"
        if [ "$litellm" = 1 ]; then
            echo "- LiteLLM $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))') on $("$venv/bin/python" --version)"
        fi
        echo "- load average when started (other work on the machine): $(cut -d' ' -f1-3 /proc/loadavg)"
        if [ "$rt" = 1 ]; then
            echo "- --rt: the gateway, the bridge and their client ran at real-time priority (chrt -f 10); LiteLLM and its client at normal priority"
        else
            echo "- normal scheduling priority for everything"
        fi
        if [ -n "$bin_arg" ]; then
            echo "- binary: $bin_arg ($("$bin_arg" --version | head -1))"
        else
            echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
        fi
    } >"$machine"
    flags=(--inside)
    [ "$quick" = 1 ] && flags+=(--quick)
    [ "$litellm" = 0 ] && flags+=(--no-litellm)
    [ "$rt" = 1 ] && flags+=(--rt)
    [ -n "$bin_arg" ] && flags+=(--bin "$bin_arg")
    # --rt: real-time priority has to be taken outside the namespace (a
    # user namespace may not raise it); LiteLLM drops back to normal inside.
    prio=()
    if [ "$rt" = 1 ]; then prio=(chrt -f 10); fi
    BENCH_MACHINE=$machine "${prio[@]}" unshare -rn bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "${flags[@]}"
    rm -f "$machine"
    exit 0
fi

# --- inside the loopback-only namespace ---------------------------------------------
if grep -qv '^ *\(lo:\|Inter-\|face\)' /proc/net/dev; then
    echo "bench/bridge.sh: not in a loopback-only network namespace" >&2
    exit 1
fi

# 30 paced streams: 60,000 events, so that one 10 ms tick of CPU time is
# 0.17 µs an event (10 streams left the figure to this machine's noise).
if [ "$quick" = 1 ]; then runs=5 peer_runs=2 paced_runs=2; else runs=30 peer_runs=8 paced_runs=30; fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ominigate-bridge-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME CMD...: run CMD in the background, wait for `listening on URL`
# on its first line (LiteLLM: for its health endpoint), set $url and $pid.
start() {
    local name=$1
    shift
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 1 200); do
        url=$(sed -n '1s/^listening on //p' "$work/$name.out" 2>/dev/null || true)
        [ -n "$url" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "bench/bridge.sh: $name did not start:" >&2
    cat "$work/$name.out" "$work/$name.err" >&2
    exit 1
}

# Peak RSS (VmHWM) of a process and its descendants, in KiB.
peak_rss() {
    local total=0 p kids
    for p in $1 $(pgrep -P "$1" 2>/dev/null || true); do
        kids=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        total=$((total + ${kids:-0}))
    done
    echo "$total"
}

# CPU time (user + system, all threads, ended ones too) of a process, in
# clock ticks.
cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# With --rt everything here runs at real-time priority but LiteLLM and its
# client, which run with RUN=normal (chrt -o 0: normal priority again).
normal=()
if [ "$rt" = 1 ]; then normal=(chrt -o 0); fi

# single NAME URL WIRE: one stream, its round appended to NAME.single.
single() {
    local pre=()
    [ -z "${RUN:-}" ] || pre=("${normal[@]}")
    "${pre[@]}" "$bench" client --url "$2" --wire "$3" --runs 1 --model "$model" >>"$work/$1.single"
}

# many NAME URL WIRE: one round of 64 concurrent streams.
many() {
    local pre=()
    [ -z "${RUN:-}" ] || pre=("${normal[@]}")
    "${pre[@]}" "$bench" client --url "$2" --wire "$3" --streams 64 --model "$model" >"$work/$1.64"
    echo "$1, 64 at once: $(cat "$work/$1.64")"
}

start gateway "$bench" gateway --deltas "$deltas" --lifetime 1800
gateway=$url
model=bench/model

start bridge "$bin" bridge --listen 127.0.0.1:0 --upstream "$gateway" -q
bridge=$url
bridge_pid=$pid
echo "bridge idle RSS: $(awk '/VmRSS/ {print $2}' "/proc/$bridge_pid/status") KiB"
# Direct and through the bridge take turns, so that the load of a shared
# machine falls on both alike; a warm-up of each first.
echo "== direct and bridge: $runs streams each, one after another, taking turns"
single warmup "$gateway" chat
single warmup "$bridge" responses
cpu_before=$(cpu_ticks "$bridge_pid")
for _ in $(seq 1 "$runs"); do
    single direct "$gateway" chat
    single bridge "$bridge" responses
done
echo "$(($(cpu_ticks "$bridge_pid") - cpu_before)) $(getconf CLK_TCK) $((runs * deltas))" >"$work/bridge.cpu"
many direct "$gateway" chat
many bridge "$bridge" responses
peak_rss "$bridge_pid" >"$work/bridge.rss"
kill "$bridge_pid"

# Paced: the gateway pauses 200 µs after each delta, as a model emits
# tokens, so that each reaches the bridge alone (one read, one write each):
# the bridge's CPU per event as Codex sees it, not amortised over a burst.
start paced-gateway "$bench" gateway --deltas "$deltas" --lifetime 1800 --gap-us 200
start paced-bridge "$bin" bridge --listen 127.0.0.1:0 --upstream "$url" -q
paced_bridge=$url
paced_pid=$pid
echo "== paced: $paced_runs streams, one delta every 200 µs"
single warmup "$paced_bridge" responses
cpu_before=$(cpu_ticks "$paced_pid")
for _ in $(seq 1 "$paced_runs"); do
    single paced "$paced_bridge" responses
done
echo "$(($(cpu_ticks "$paced_pid") - cpu_before)) $(getconf CLK_TCK) $((paced_runs * deltas))" >"$work/paced.cpu"
kill "$paced_pid"

if [ "$litellm" = 1 ]; then
    # A chat-only model: LiteLLM 1.108.7 has no Responses API config for
    # `custom_openai/` (it has for openai/ and hosted_vllm/), so
    # /v1/responses goes through its chat-completions bridge.
    cat >"$work/litellm.yaml" <<EOF
model_list:
  - model_name: $model
    litellm_params:
      model: custom_openai/$model
      api_base: $gateway
      api_key: sk-bench-not-a-key
litellm_settings:
  telemetry: false
  drop_params: true
EOF
    port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    (
        # The client's bearer token (examples/bridge_bench.rs) as the
        # proxy's master key: LiteLLM refuses to start without one.
        export LITELLM_MASTER_KEY=sk-bench-not-a-key-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c1e
        export LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_TELEMETRY=False LITELLM_LOG=ERROR \
            DISABLE_ADMIN_UI=True NO_DOCS=True HOME="$work"
        exec "${normal[@]}" "$venv/bin/litellm" --config "$work/litellm.yaml" --host 127.0.0.1 --port "$port" --num_workers 1
    ) >"$work/litellm.out" 2>"$work/litellm.err" &
    litellm_pid=$!
    pids+=("$litellm_pid")
    for _ in $(seq 1 600); do
        "$venv/bin/python" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/health/liveliness', timeout=1)" 2>/dev/null && break
        kill -0 "$litellm_pid" 2>/dev/null || { cat "$work/litellm.err" >&2; exit 1; }
        sleep 0.1
    done
    echo "== litellm: $peer_runs streams one after another, then 64 at once"
    RUN=normal single warmup "http://127.0.0.1:$port/v1" responses
    for _ in $(seq 1 "$peer_runs"); do
        RUN=normal single litellm "http://127.0.0.1:$port/v1" responses
    done
    RUN=normal many litellm "http://127.0.0.1:$port/v1" responses
    peak_rss "$litellm_pid" >"$work/litellm.rss"
    kill "$litellm_pid"
    # LiteLLM had no way out of this namespace; say whether it tried.
    if grep -qiE 'ConnectError|Network is unreachable|Temporary failure in name resolution|getaddrinfo' "$work/litellm.err"; then
        echo "note: LiteLLM tried to reach the network (it could not):" >&2
        grep -iE 'ConnectError|unreachable|name resolution|getaddrinfo' "$work/litellm.err" | head -5 >&2
        echo "tried" >"$work/litellm.outside"
    else
        echo "none" >"$work/litellm.outside"
    fi
fi

python3 - "$work" "$root/bench/RESULTS.md" "$deltas" "${BENCH_MACHINE:-/dev/null}" <<'PY'
import json, os, statistics, sys

work, out_path, deltas, machine = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

def rounds(name, kind):
    path = os.path.join(work, f"{name}.{kind}")
    if not os.path.exists(path):
        return None
    return [json.loads(l) for l in open(path) if l.strip()]

def stats(name):
    single, many = rounds(name, "single"), rounds(name, "64")
    if not single:
        return None
    ttfe = statistics.median(r["ttfe_us"] for r in single)
    total = statistics.median(r["total_us"] for r in single)
    ok = all(r["complete"] == r["streams"] and r["events"] == deltas for r in single)
    s = {"ttfe": ttfe, "total": total, "stream": total - ttfe, "single_ok": ok,
         "n": len(single), "many": many[0] if many else None}
    rss = os.path.join(work, f"{name}.rss")
    s["rss"] = int(open(rss).read().strip()) if os.path.exists(rss) else None
    cpu = os.path.join(work, f"{name}.cpu")
    s["cpu"] = None
    if os.path.exists(cpu):
        ticks, hz, events = (int(x) for x in open(cpu).read().split())
        s["cpu"] = ticks / hz * 1e6 / events
    return s

direct, bridge, peer = stats("direct"), stats("bridge"), stats("litellm")
paced = stats("paced")

def ms(us):
    return f"{us / 1000:,.2f} ms"

def added(s):
    return {"ttfe": s["ttfe"] - direct["ttfe"],
            "per_event": (s["stream"] - direct["stream"]) / deltas,
            "total": s["total"] - direct["total"]}

lines = []
add = lines.append
add("## Bridge (bench/bridge.sh)")
add("")
add(f"A loopback chat-completions gateway (examples/bridge_bench.rs) streams {deltas:,} text deltas per request, "
    "one HTTP chunk each. The same Rust client reads them directly (chat completions, the floor), through "
    "`ominigate-codex bridge` and through LiteLLM's proxy (`POST /v1/responses` on a `custom_openai/` model, "
    "which LiteLLM serves with its chat-completions bridge). Medians over streams run one after another "
    "(after a warm-up; direct and the bridge taking turns); time to first event is to the first text delta (`response.output_text.delta` "
    "through a bridge); added per event = (time from the first delta to the end of the stream, minus the "
    "same directly) / deltas. CPU per event: the bridge process's user + system time over those streams "
    "(request, translation and all) / their events: unlike latency, stable on a shared machine. "
    "Peak RSS (VmHWM, the process and its children) after 64 concurrent streams. "
    "Everything ran in a loopback-only network namespace.")
add("")
add("| path | streams | time to first event | total | added to first event | added per event | CPU per event | 64 concurrent: complete | 64: slowest stream | peak RSS |")
add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for label, s in [("direct (floor)", direct), ("ominigate-codex bridge", bridge), ("LiteLLM proxy", peer)]:
    if not s:
        continue
    a = added(s) if s is not direct else None
    many = s["many"]
    add("| " + " | ".join([
        label, str(s["n"]), ms(s["ttfe"]), ms(s["total"]),
        "–" if a is None else f"{a['ttfe'] / 1000:+,.2f} ms",
        "–" if a is None else f"{a['per_event']:+,.2f} µs",
        f"{s['cpu']:,.2f} µs" if s.get("cpu") is not None else "–",
        f"{many['complete']}/{many['streams']}" if many else "–",
        ms(many["max_total_us"]) if many else "–",
        f"{s['rss'] / 1024:,.1f} MiB" if s["rss"] else "–",
    ]) + " |")
add("")
if paced and paced["cpu"] is not None:
    add(f"Paced (the gateway pauses 200 µs after each delta, as a fast model emits tokens: each arrives "
        f"alone; the bridge passes them on at most once every 8 ms, docs/bridge.md): {paced['n']} streams, time to first event "
        f"{ms(paced['ttfe'])}, bridge CPU per event **{paced['cpu']:.2f} µs**.")
    add("")
if bridge and added(bridge)["per_event"] < 0:
    add("Through the bridge the stream ended sooner than directly: the gateway sends each delta as its own "
        "small HTTP chunk, which the direct client reads one by one, while the bridge reads them in 16 KiB "
        "pieces and writes their events in larger writes. The bridge's cost per event is below what this "
        "floor can show.")
    add("")
if bridge:
    a = added(bridge)
    many = bridge["many"]
    mb = bridge["rss"] / 1024 if bridge["rss"] else None
    def mark(ok):
        return "met" if ok else "**NOT met**"
    add("Targets (issues 13 and 20):")
    add("")
    add(f"- added time to first event ≤ 1 ms: {a['ttfe'] / 1000:+.3f} ms, {mark(a['ttfe'] <= 1000)}")
    add(f"- per-event overhead ≤ 5 µs: {a['per_event']:+.2f} µs, {mark(a['per_event'] <= 5)}")
    if paced and paced["cpu"] is not None:
        add(f"- bridge CPU per event ≤ 8 µs (paced): {paced['cpu']:.2f} µs, {mark(paced['cpu'] <= 8)}")
    ok64 = many and many["complete"] == many["streams"] == 64
    add(f"- RSS ≤ 30 MB with 64 concurrent streams, all complete: "
        f"{mb:.1f} MiB, {many['complete'] if many else 0}/64 complete, {mark(bool(ok64) and mb is not None and mb * 1.048576 <= 30)}")
    add("")
if bridge and peer:
    a, p = added(bridge), added(peer)
    def ratio(x, y):
        if y <= 0:
            return f"n/a (the bridge added {y:+.1f} µs: below the noise)"
        return f"{x / y:,.0f}x"
    add("LiteLLM ÷ ominigate-codex bridge:")
    add("")
    add(f"- added time to first event: {p['ttfe'] / 1000:+.2f} ms vs {a['ttfe'] / 1000:+.3f} ms: {ratio(p['ttfe'], a['ttfe'])}")
    add(f"- added per event: {p['per_event']:+.1f} µs vs {a['per_event']:+.2f} µs: {ratio(p['per_event'], a['per_event'])}")
    add(f"- total time of one stream: {ms(peer['total'])} vs {ms(bridge['total'])}: {peer['total'] / bridge['total']:,.1f}x")
    if peer["many"] and bridge["many"]:
        add(f"- slowest of 64 concurrent streams: {ms(peer['many']['max_total_us'])} vs {ms(bridge['many']['max_total_us'])}: "
            f"{peer['many']['max_total_us'] / bridge['many']['max_total_us']:,.1f}x")
    if peer["rss"] and bridge["rss"]:
        add(f"- peak RSS: {peer['rss'] / 1024:,.1f} MiB vs {bridge['rss'] / 1024:,.1f} MiB: {peer['rss'] / bridge['rss']:,.1f}x")
    outside = os.path.join(work, "litellm.outside")
    if os.path.exists(outside):
        tried = open(outside).read().strip() == "tried"
        add(f"- LiteLLM's attempts to reach beyond loopback (it could not): {'some, see the run log' if tried else 'none logged'}")
    add("")
add("Machine:")
add("")
add(open(machine).read().rstrip() if os.path.exists(machine) else "- unknown")
add("")
section = "\n".join(lines)
print(section)

marker = "## Bridge (bench/bridge.sh)"
text = open(out_path).read() if os.path.exists(out_path) else "# Benchmark results\n\n"
head, _, rest = text.partition(marker)
head = head.rstrip("\n") + "\n\n"
# Sections other scripts own (bench/npm.sh's) follow this one: keep them.
after = rest.find("\n## ")
tail = "\n" + rest[after + 1 :] if after >= 0 else ""
open(out_path, "w").write(head + section + tail)
print(f"written to {out_path}")
PY
