#!/usr/bin/env bash
# What the npm packages cost: their tarball sizes, and the start-up of
# `ominigate-codex --version` through npm's shim (node running the
# launcher, which runs the binary) against the bare binary, as a ratio;
# `node -e 0` shows how much of the difference is node starting.
# Writes the "## npm packages (bench/npm.sh)" section at the end of
# bench/RESULTS.md (bench/run.sh keeps it when it rewrites the rest).
#
#   bench/npm.sh             # about a minute once the release build is there
#   bench/npm.sh --quick     # fewer runs
#   bench/npm.sh --no-hyperfine   # use the timing loop in bench/timing.py
#
# Needs cargo, node, npm and python3; uses hyperfine if installed, else the
# timing loop in bench/timing.py. Packs with scripts/npm-pack.sh and installs
# into a temporary prefix with npm offline; HOME points into it too.
set -euo pipefail

runs=300
warmup=20
use_hyperfine=1
for arg in "$@"; do
    case "$arg" in
    --quick) runs=30 warmup=3 ;;
    --no-hyperfine) use_hyperfine=0 ;;
    -h | --help)
        sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "bench/npm.sh: unknown option $arg (try --help)" >&2
        exit 2
        ;;
    esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
work=$(mktemp -d "${TMPDIR:-/tmp}/ominigate-npm-bench.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

echo "== packing (scripts/npm-pack.sh)"
mapfile -t tarballs < <(bash scripts/npm-pack.sh --out "$work/tgz")
main=${tarballs[0]}
platform=${tarballs[1]}

echo "== npm install -g --prefix (offline)"
mkdir -p "$work/home"
HOME=$work/home npm_config_offline=true npm_config_registry=http://127.0.0.1:9/ \
    npm_config_cache=$work/npm-cache npm_config_update_notifier=false npm_config_audit=false \
    npm_config_fund=false npm_config_loglevel=error \
    npm install -g --prefix "$work/global" "$main" "$platform" >&2
shim=$work/global/bin/ominigate-codex
pkg=$(basename "$platform" | sed 's/-[0-9][^-]*\.tgz$//')
bare=$work/global/lib/node_modules/$pkg/bin/ominigate-codex
"$shim" --version | grep -q 'installed with npm'

node_bin=$(command -v node)
export HOME=$work/home
if [[ $use_hyperfine == 1 ]] && command -v hyperfine >/dev/null 2>&1; then
    timer="hyperfine $(hyperfine --version | cut -d' ' -f2) (-N)"
    hyperfine -N --style basic --warmup "$warmup" --runs "$runs" --export-json "$work/times.json" \
        "$bare --version" "$shim --version" "$node_bin -e 0" >&2
else
    timer="bench/timing.py loop"
    n=0
    for cmd in "$bare" "$shim" "$node_bin"; do
        args=(--version)
        [[ $cmd == "$node_bin" ]] && args=(-e 0)
        n=$((n + 1))
        python3 bench/timing.py run --warmup "$warmup" --runs "$runs" \
            --json "$work/times.$n.json" -- "$cmd" "${args[@]}"
    done
    python3 - "$work" >"$work/times.json" <<'EOF'
import json, os, sys
parts = [json.load(open(os.path.join(sys.argv[1], f"times.{n}.json")))["results"][0] for n in (1, 2, 3)]
print(json.dumps({"results": parts}))
EOF
fi

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
python3 - "$work/times.json" "$main" "$platform" "$bare" "$timer" "$runs" "$commit" \
    "$(node --version)" "$(npm --version)" "$load" "$(nproc 2>/dev/null || echo '?')" >"$work/section.md" <<'EOF'
import json, os, statistics, sys, time
times, main, platform, bare, timer, runs, commit, node, npm, load, cores = sys.argv[1:]
res = json.load(open(times))["results"]
med = [statistics.median(r["times"]) * 1000 for r in res]
bare_ms, shim_ms, node_ms = med
def kib(path):
    return f"{os.path.getsize(path):,} bytes ({os.path.getsize(path) / 1024:,.0f} KiB)"
print("## npm packages (bench/npm.sh)")
print()
print(f"Written by `bench/npm.sh`: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}, "
      f"node {node}, npm {npm}; {timer}, median of {runs} runs each; {cores} cores, "
      f"load average {load} when it ended (the machine is shared: read the ratios, not the milliseconds).")
print()
print("| tarball | size |")
print("|---|---:|")
print(f"| `{os.path.basename(main)}` (launcher, README, LICENSE) | {kib(main)} |")
print(f"| `{os.path.basename(platform)}` (binary, README, LICENSE) | {kib(platform)} |")
print(f"| the binary inside, unpacked | {kib(bare)} |")
print()
print("| `--version` through | median | ÷ bare binary |")
print("|---|---:|---:|")
print(f"| the bare binary | {bare_ms:.2f} ms | 1.0x |")
print(f"| npm's shim (`<prefix>/bin/ominigate-codex`: node, the launcher, the binary) | {shim_ms:.2f} ms | {shim_ms / bare_ms:.1f}x |")
print(f"| `node -e 0` (node starting, nothing else) | {node_ms:.2f} ms | {node_ms / bare_ms:.1f}x |")
print()
print(f"The launcher adds {shim_ms - bare_ms:.1f} ms to every command; node's own start-up is "
      f"{node_ms:.1f} ms of it ({node_ms / (shim_ms - bare_ms) * 100:.0f}%). "
      "A user who wants none of it runs the binary itself, or installs with cargo.")
EOF

results=bench/RESULTS.md
# Replace the section (from its heading to the end of the file), or add it.
python3 - "$results" "$work/section.md" <<'EOF'
import os, sys
results, section = sys.argv[1:]
marker = "## npm packages (bench/npm.sh)"
old = open(results).read() if os.path.exists(results) else ""
if marker in old:
    old = old[: old.index(marker)]
old = old.rstrip("\n")
with open(results, "w") as f:
    f.write((old + "\n\n" if old else "") + open(section).read())
EOF
cat "$work/section.md"
echo "written to $results"
