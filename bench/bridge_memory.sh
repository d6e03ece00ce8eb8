#!/usr/bin/env bash
# Bridge memory benchmark (issue 20, finding 3): the bridge's peak RSS
# while it translates large Responses requests.
#
# A loopback gateway (Python) answers each chat request with a short
# stream; the bridge gets POST /v1/responses bodies of SIZE MiB made of
# tiny input items (the worst case for a translator: a one-letter user
# message is ~75 bytes of JSON), or of tiny tool declarations (a function
# with a one-property schema, ~120 bytes), one alone, then three at once. For
# each, a fresh bridge; its peak RSS (VmHWM, /proc/PID/status) minus its
# RSS at rest, divided by the bytes of the bodies in flight, is the
# translation's memory per body byte. The issue asks for at most about 8.
#
#   bench/bridge_memory.sh              # 20 MiB bodies, release build
#   bench/bridge_memory.sh --debug      # the debug build (same allocations)
#   BENCH_MIB=5 bench/bridge_memory.sh  # smaller bodies
#
# It prints a table and writes it to bench/RESULTS.md (the section
# "Bridge memory"). Everything runs in a network namespace whose only
# interface is loopback (`unshare -rn`). Needs: cargo, python3, unshare, ip.
set -euo pipefail

profile=release
inside=0
for arg in "$@"; do
    case "$arg" in
    --debug) profile=debug ;;
    --inside) inside=1 ;;
    -h | --help)
        sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "bench/bridge_memory.sh: unknown option $arg (try --help)" >&2
        exit 2
        ;;
    esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
bin=$target_dir/$profile/ominigate-codex
mib=${BENCH_MIB:-20}

if [ "$inside" = 0 ]; then
    echo "== building ($profile)"
    if [ "$profile" = release ]; then
        cargo build --release --quiet --bin ominigate-codex
    else
        cargo build --quiet --bin ominigate-codex
    fi
    flags=(--inside)
    [ "$profile" = debug ] && flags+=(--debug)
    out=$(mktemp)
    BENCH_OUT=$out unshare -rn bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "${flags[@]}"
    {
        echo "## Bridge memory (bench/bridge_memory.sh)"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)'); $profile build"
        echo "- $(nproc) cores, shared with other work; bodies of $mib MiB of tiny input items (items) or tool declarations (tools)"
        echo
        cat "$out"
        echo
        echo "Before issue 20 (the request parsed whole into \`serde_json::Value\`, the messages and tools built"
        echo "as values), the same run gave 33.6× for items (peak 686 MB for one body, 2,027 MB for three) and"
        echo "59.1× for tools (1,196 MB and 3,559 MB); debug build, 2026-12-07. Now each history item and tool"
        echo "declaration is kept as its raw text and read when needed, a tool's schema is copied as it came,"
        echo "and the messages and tools are written as JSON text as they are made. The bridge also holds at"
        echo "most 96 MiB of request bodies at once (docs/bridge.md, *Limits*): at 6.7×, under 700 MB."
    } >"$out.section"
    python3 - "$root/bench/RESULTS.md" "$out.section" <<'PY'
import re, sys
path, section = sys.argv[1], open(sys.argv[2]).read().rstrip("\n") + "\n"
text = open(path).read()
pattern = re.compile(r"## Bridge memory \(bench/bridge_memory.sh\)\n.*?(?=\n## |\Z)", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section.rstrip("\n"), text)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text if text.endswith("\n") else text + "\n")
PY
    cat "$out.section"
    rm -f "$out" "$out.section"
    exit 0
fi

# --- inside the loopback-only namespace ---------------------------------------------
if grep -qv '^ *\(lo:\|Inter-\|face\)' /proc/net/dev; then
    echo "bench/bridge_memory.sh: not in a loopback-only network namespace" >&2
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ominigate-memory-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

python3 - "$work" "$mib" <<'PY' &
# The gateway: reads each request whole, answers a short chat stream.
import socket, sys, threading
work, mib = sys.argv[1], int(sys.argv[2])
body = "".join(
    f"data: {c}\n\n"
    for c in [
        '{"id":"c","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}',
        '{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
        '{"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}',
        "[DONE]",
    ]
).encode()
def serve(conn):
    with conn:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, rest = data.split(b"\r\n\r\n", 1)
        length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length"))
        while len(rest) < length:
            rest += conn.recv(1 << 20)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(f"{work}/gateway.port", "w").write(str(s.getsockname()[1]))
# The bodies, once: SIZE MiB of one-letter user messages, and of tools.
item = '{"type":"message","role":"user","content":[{"type":"input_text","text":"x"}]}'
n = (mib << 20) // (len(item) + 1)
request = '{"model":"bench/model","stream":true,"input":[' + ",".join([item] * n) + "]}"
open(f"{work}/items.json", "w").write(request)
tool = '{"type":"function","name":"f%07d","description":"d","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}'
n = (mib << 20) // (len(tool % 0) + 1)
tools = ",".join(tool % i for i in range(n))
request = '{"model":"bench/model","stream":true,"input":[' + item + '],"tools":[' + tools + "]}"
open(f"{work}/tools.json", "w").write(request)
open(f"{work}/ready", "w").write("")
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
PY
pids+=("$!")
for _ in $(seq 1 600); do [ -e "$work/ready" ] && break; sleep 0.1; done
gateway=http://127.0.0.1:$(cat "$work/gateway.port")/v1

# run N SHAPE: a fresh bridge, N bodies of SHAPE at once; prints a table row.
run() {
    local n=$1 shape=$2
    mkdir -p "$work/home"
    HOME=$work/home CODEX_HOME=$work/home "$bin" bridge --listen 127.0.0.1:0 --upstream "$gateway" -q \
        >"$work/bridge.out" 2>"$work/bridge.err" &
    local pid=$!
    pids+=("$pid")
    local url=""
    for _ in $(seq 1 200); do
        url=$(sed -n '1s/^listening on //p' "$work/bridge.out")
        [ -n "$url" ] && break
        sleep 0.05
    done
    local rest
    rest=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    python3 - "$url" "$work/$shape.json" "$n" <<'PY'
import sys, threading, urllib.request
url, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
body = open(path, "rb").read()
results = []
def post():
    req = urllib.request.Request(url + "/responses", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        results.append((r.status, b"response.completed" in r.read()))
threads = [threading.Thread(target=post) for _ in range(n)]
for t in threads: t.start()
for t in threads: t.join()
assert results == [(200, True)] * n, results
PY
    local peak
    peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    local bytes
    bytes=$(stat -c %s "$work/$shape.json")
    python3 - "$shape" "$n" "$bytes" "$rest" "$peak" <<'PY'
import sys
shape = sys.argv[1]
n, size, rest, peak = (int(a) for a in sys.argv[2:])
per = (peak - rest) * 1024 / (n * size)
print(f"| {shape} | {n} × {size / 2**20:.1f} MiB | {rest / 1024:.1f} MB | {peak / 1024:.1f} MB | {per:.1f}× |")
PY
}

{
    echo "| body of | bodies at once | RSS at rest | peak RSS | (peak − rest) / bytes in flight |"
    echo "|---|---|---|---|---|"
    for shape in items tools; do
        run 1 "$shape"
        run 3 "$shape"
    done
} | tee "$BENCH_OUT"
