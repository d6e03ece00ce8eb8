#!/usr/bin/env bash
# Whole-process benchmark: ominigate-codex install / uninstall / doctor
# beside a plain `cp` of the file (the floor) and the same edit done by a
# Python tomlkit script (the alternative), on generated Codex configs of
# 5 KiB to 10 MiB. Prints a table of medians and ratios and writes it to
# bench/RESULTS.md with the machine it ran on.
#
#   bench/run.sh              # full run (about 5 minutes on 2 cores)
#   bench/run.sh --quick      # fewer runs: a smoke test, rough numbers
#   bench/run.sh --no-hyperfine   # use the built-in timing loop
#
# Needs: cargo, python3 (with venv). Uses hyperfine if installed
# (`apt-get install hyperfine`), else a small timing loop in
# bench/timing.py; max RSS from /usr/bin/time (`apt-get install time`) if
# installed, else getrusage. tomlkit is installed into a venv under
# ${XDG_CACHE_HOME:-~/.cache}/ominigate-codex/ the first time.
#
# Every run works on a temporary copy: CODEX_HOME and HOME point into a
# fresh temporary directory, never at your ~/.codex.
#
# Environment: BENCH_SIZES (default "5K 100K 1M 10M"), BENCH_TMPDIR (where
# the temporary Codex homes go; default $TMPDIR or /tmp).
set -euo pipefail

quick=0
use_hyperfine=1
for arg in "$@"; do
    case "$arg" in
    --quick) quick=1 ;;
    --no-hyperfine) use_hyperfine=0 ;;
    -h | --help)
        sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "bench/run.sh: unknown option $arg (try --help)" >&2
        exit 2
        ;;
    esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
sizes=${BENCH_SIZES:-5K 100K 1M 10M}
codex_version=0.169.0

echo "== building (cargo build --release)"
cargo build --release --quiet
cargo build --release --quiet --example gen_config
target_dir=${CARGO_TARGET_DIR:-$root/target}
bin=$target_dir/release/ominigate-codex
gen=$target_dir/release/examples/gen_config

venv=${XDG_CACHE_HOME:-$HOME/.cache}/ominigate-codex/bench-venv
py=$venv/bin/python
if ! "$py" -c 'import tomlkit' 2>/dev/null; then
    echo "== installing tomlkit into $venv"
    python3 -m venv "$venv" || {
        echo "cannot create a venv: install python3-venv (apt-get install python3-venv)" >&2
        exit 1
    }
    "$py" -m pip install --quiet --disable-pip-version-check 'tomlkit==0.15.2'
fi

work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/ominigate-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/results"
results=$work/results
# The machine, asked before HOME changes (rustup finds its toolchains there).
mem_kib=$(awk '/MemTotal/ {print $2}' /proc/meminfo)
{
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- CPU: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores available"
    echo "- memory: $((mem_kib / 1024 / 1024)) GiB"
    echo "- OS: $(uname -sr); temporary files on $(df -PT "$work" | awk 'NR==2 {print $2}')"
    echo "- $(rustc --version); $("$py" --version), tomlkit $("$py" -c 'import tomlkit; print(tomlkit.__version__)')"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
} >"$results/machine"

# From here on nothing can reach the real ~/.codex: every command sees a
# temporary HOME and CODEX_HOME.
export HOME=$work/home
run=$work/run
export CODEX_HOME=$run
# A stand-in key, so that doctor sees a complete setup; nothing is sent.
export OMINIGATE_API_KEY=sk-omg-benchmark-not-a-key
unset OMINIGATE_CODEX_FAILPOINT OPENAI_API_KEY OPENAI_BASE_URL || true

timer="hyperfine $(hyperfine --version 2>/dev/null | awk '{print $2}') (-N)"
if [[ $use_hyperfine == 0 ]] || ! command -v hyperfine >/dev/null; then
    [[ $use_hyperfine == 1 ]] && echo "== no hyperfine (apt-get install hyperfine): timing with bench/timing.py"
    use_hyperfine=0
    timer="bench/timing.py loop (no shell)"
fi
if "$bin" doctor --help >/dev/null 2>&1; then has_doctor=yes; else has_doctor=no; fi

# A fresh copy of a template Codex home at $run; not timed.
cat >"$work/prep.sh" <<'EOF'
rm -rf "$2" && cp -a "$1" "$2"
EOF

q() { printf '%q ' "$@"; }

# measure NAME SIZE ROUND RUNS TEMPLATE COMMAND...: time RUNS runs of
# COMMAND, each in a fresh copy of TEMPLATE, into ${SIZE}__NAME.ROUND.json.
# The first round starts with one untimed warm-up run. A non-zero exit
# fails the benchmark, except for doctor, whose exit status reports what it
# found.
measure() {
    local name=$1 size=$2 round=$3 runs=$4 template=$5
    shift 5
    local json=$results/${size}__$name.$round.json prepare warmup=0 ignore=()
    prepare=$(q bash "$work/prep.sh" "$template" "$run")
    [[ $round == 1 ]] && warmup=1
    [[ $name == doctor ]] && ignore=(--ignore-failure)
    if [[ $use_hyperfine == 1 ]]; then
        hyperfine -N --warmup "$warmup" --runs "$runs" --prepare "$prepare" "${ignore[@]}" \
            --export-json "$json" --style none "$(q "$@")" >/dev/null
    else
        "$py" bench/timing.py run --warmup "$warmup" --runs "$runs" --prepare "$prepare" \
            --json "$json" "${ignore[@]}" -- "$@"
    fi
}

# Runs per size: ROUNDS rounds of RUNS runs of each command (tomlkit: of
# SLOW runs). The commands take turns round by round, so a slow spell of
# the machine (other jobs, a busy disk) falls on all of them alike.
plan_for() { # SIZE -> ROUNDS RUNS SLOW
    local plan
    case "$1" in
    *M) plan=$([[ ${1%M} -ge 10 ]] && echo "3 2 1" || echo "5 3 1") ;;
    *) plan=$([[ ${1%K} -ge 100 ]] && echo "6 5 2" || echo "8 5 2") ;;
    esac
    if [[ $quick == 1 ]]; then
        set -- $plan
        plan="2 $(((${2} + 1) / 2)) 1"
    fi
    echo "$plan"
}

install_cmd=("$bin" install --codex-version "$codex_version")
{
    echo "sizes=$sizes"
    echo "timer=$timer"
    echo "doctor=$has_doctor"
    echo "fsync_before=$("$py" bench/timing.py fsync "$work")"
} >"$results/meta"

for size in $sizes; do
    echo "== $size"
    dir=$work/templates/$size
    mkdir -p "$dir/fresh"
    "$gen" "$size" "$dir/fresh/config.toml"
    echo "bytes_$size=$(stat -c %s "$dir/fresh/config.toml")" >>"$results/meta"
    # The installed template: what uninstall and doctor start from.
    bash "$work/prep.sh" "$dir/fresh" "$run"
    "${install_cmd[@]}" >/dev/null
    grep -q '^\[model_providers.ominigate\]' "$run/config.toml"
    cp -a "$run" "$dir/installed"
    [[ $has_doctor == yes ]] || echo "   doctor: skipped, not in this build (ominigate-codex doctor --help fails)"

    read -r rounds runs slow <<<"$(plan_for "$size")"
    for round in $(seq "$rounds"); do
        measure cp "$size" "$round" "$runs" "$dir/fresh" cp "$dir/fresh/config.toml" "$run/copy.toml"
        measure install "$size" "$round" "$runs" "$dir/fresh" "${install_cmd[@]}"
        measure uninstall "$size" "$round" "$runs" "$dir/installed" "$bin" uninstall
        if [[ $has_doctor == yes ]]; then
            measure doctor "$size" "$round" "$runs" "$dir/installed" \
                "$bin" doctor --offline --codex-version "$codex_version"
        fi
        measure tomlkit "$size" "$round" "$slow" "$dir/fresh" "$py" bench/tomlkit_install.py
        echo "   round $round/$rounds done"
    done
    "$py" bench/timing.py medians "$results" "$size"
done

# Peak memory on the largest config.
big=${sizes##* }
dir=$work/templates/$big
if [[ -x /usr/bin/time ]]; then
    rss_tool="/usr/bin/time"
else
    rss_tool="getrusage"
fi
echo "rss_tool=$rss_tool" >>"$results/meta"
echo "== max RSS on $big"
rss_of() { # NAME TEMPLATE COMMAND...: max RSS in KiB of one run
    local name=$1 template=$2 kib status=0
    shift 2
    bash "$work/prep.sh" "$template" "$run"
    if [[ $rss_tool == /usr/bin/time ]]; then
        /usr/bin/time -f '%M' -o "$work/rss.txt" "$@" >/dev/null || status=$?
        kib=$(tail -n 1 "$work/rss.txt")
    else
        kib=$("$py" bench/timing.py rss -- "$@") || status=$?
    fi
    if [[ $status != 0 && $name != doctor ]]; then
        echo "$name failed (exit $status)" >&2
        exit 1
    fi
    echo "$name=$kib" >>"$results/rss"
    awk -v n="$name" -v k="$kib" 'BEGIN { printf "   %-10s %8.1f MiB\n", n, k / 1024 }'
}
rss_of cp "$dir/fresh" cp "$dir/fresh/config.toml" "$run/copy.toml"
rss_of install "$dir/fresh" "${install_cmd[@]}"
rss_of uninstall "$dir/installed" "$bin" uninstall
if [[ $has_doctor == yes ]]; then
    rss_of doctor "$dir/installed" "$bin" doctor --offline --codex-version "$codex_version"
fi
rss_of tomlkit "$dir/fresh" "$py" bench/tomlkit_install.py

echo "fsync_after=$("$py" bench/timing.py fsync "$work")" >>"$results/meta"

echo "== binary size and startup"
echo "binary_bytes=$(stat -c %s "$bin")" >>"$results/meta"
mkdir -p "$work/empty"
measure version startup 1 40 "$work/empty" "$bin" --version
"$py" -c 'import json,statistics,sys; print("startup=%r" % statistics.median(json.load(open(sys.argv[1]))["results"][0]["times"]))' \
    "$results/startup__version.1.json" >>"$results/meta"


echo
"$py" bench/timing.py report "$results" bench/RESULTS.md
echo
echo "written to bench/RESULTS.md"
