"""Helpers for bench/run.sh: a timing loop for machines without hyperfine,
max RSS through getrusage, and the results table.

    timing.py run [--warmup N] --runs N --prepare CMD --json OUT [--ignore-failure] -- COMMAND [ARG...]
    timing.py rss -- COMMAND [ARG...]            # prints max RSS in KiB
    timing.py fsync DIR                          # median fsync of a new 5 KiB file, in µs
    timing.py medians DIR SIZE                   # one size's medians so far
    timing.py report DIR OUT.md                  # table from DIR's results

Commands run without a shell (like `hyperfine -N`); the prepare command is
split like a shell would (shlex) and is not timed. The JSON written by `run`
has the shape of hyperfine's `--export-json`, so `report` reads either;
a command measured in several rounds has one file per round, SIZE__NAME.ROUND.json.
"""

import glob
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time

NPM_SECTION = "## npm packages (bench/npm.sh)"


def run_loop(args):
    runs, warmup, prepare, out, command, ignore_failure = 10, 0, None, None, None, False
    i = 0
    while i < len(args):
        if args[i] == "--warmup":
            warmup, i = int(args[i + 1]), i + 2
        elif args[i] == "--runs":
            runs, i = int(args[i + 1]), i + 2
        elif args[i] == "--prepare":
            prepare, i = shlex.split(args[i + 1]), i + 2
        elif args[i] == "--json":
            out, i = args[i + 1], i + 2
        elif args[i] == "--ignore-failure":
            ignore_failure, i = True, i + 1
        elif args[i] == "--":
            command = args[i + 1 :]
            break
        else:
            sys.exit(f"timing.py run: unknown argument {args[i]}")
    if not command or not out:
        sys.exit("timing.py run: need --json OUT -- COMMAND")
    times = []
    for n in range(warmup + runs):  # warm-up runs first, untimed
        if prepare:
            subprocess.run(prepare, check=True)
        start = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        if done.returncode != 0 and not ignore_failure:
            sys.exit(
                f"{shlex.join(command)} exited with {done.returncode}:\n"
                + done.stderr.decode(errors="replace")
            )
        if n >= warmup:
            times.append(elapsed)
    result = {"command": shlex.join(command), "times": times, "median": statistics.median(times)}
    with open(out, "w") as f:
        json.dump({"results": [result]}, f)


def max_rss(command):
    """Max RSS of `command` in KiB (Linux reports ru_maxrss in KiB); exits
    with the command's status. The child starts as a copy of this Python
    process, so a figure below Python's own RSS (about 10 MiB) reads as
    Python's: exact for the large configs it is used on, not for `cp`."""
    done = subprocess.run(command, stdout=subprocess.DEVNULL)
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    sys.exit(done.returncode)


def fsync_probe(directory, count=50):
    """Median time to fsync a new 5 KiB file in `directory`, in µs."""
    times = []
    for n in range(count):
        path = os.path.join(directory, f".fsync-probe-{n}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, b"x" * 5120)
        start = time.perf_counter()
        os.fsync(fd)
        times.append(time.perf_counter() - start)
        os.close(fd)
        os.unlink(path)
    print(f"{statistics.median(times) * 1e6:.0f}")


def all_times(directory, size, command):
    """Every timed run of `command` on `size`, over all rounds."""
    times = []
    for path in sorted(glob.glob(os.path.join(directory, f"{size}__{command}.*.json"))):
        with open(path) as f:
            times += json.load(f)["results"][0]["times"]
    return times


def print_medians(directory, size):
    for command in ["cp", "install", "uninstall", "doctor", "tomlkit"]:
        times = all_times(directory, size, command)
        if times:
            print(f"   {command:<10} {statistics.median(times) * 1000:10.2f} ms  ({len(times)} runs)")


def read_kv(path):
    values = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("=")
                if key:
                    values[key] = value
    return values


def ms(seconds):
    if seconds is None:
        return "—"
    value = seconds * 1000
    return f"{value:.3g} ms" if value < 100 else f"{value:,.0f} ms"


def ratio(a, b):
    return "—" if a is None or b is None else f"{a / b:.1f}x"


def mark(ok):
    return "met" if ok else "**NOT met**"


def report(directory, out_path):
    meta = read_kv(os.path.join(directory, "meta"))
    sizes = meta["sizes"].split()
    commands = ["cp", "install", "uninstall", "doctor", "tomlkit"]

    def median(size, command):
        times = all_times(directory, size, command)
        return statistics.median(times) if times else None

    t = {(s, c): median(s, c) for s in sizes for c in commands}
    lines = []
    add = lines.append
    add("## Results")
    add("")
    add(
        f"Median wall time of whole processes, {meta['timer']}; the commands take turns in "
        "rounds, and each run gets a fresh copy of the Codex home (not timed). `cp` copies "
        "the same config: the floor. A new 5 KiB file took "
        f"{meta['fsync_before']} µs to fsync before the runs and {meta['fsync_after']} µs after "
        "(install fsyncs six files and directories; cp none)."
    )
    add("")
    add(
        "| config | bytes | cp | install | uninstall | doctor | tomlkit "
        "| install ÷ cp | uninstall ÷ cp | tomlkit ÷ install |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in sizes:
        cp, ins, uni, doc, tk = (t[(s, c)] for c in commands)
        add(
            f"| {s} | {int(meta['bytes_' + s]):,} | {ms(cp)} | {ms(ins)} | {ms(uni)} | {ms(doc)} "
            f"| {ms(tk)} | {ratio(ins, cp)} | {ratio(uni, cp)} | {ratio(tk, ins)} |"
        )
    add("")
    if meta.get("doctor") != "yes":
        add("`doctor` is not in this build (`ominigate-codex doctor --help` fails): its column is empty.")
        add("")

    add("Scaling: time on the next size ÷ time on this one.")
    add("")
    add("| step | bytes × | cp | install | uninstall | doctor | tomlkit |")
    add("|---|---:|---:|---:|---:|---:|---:|")
    for a, b in zip(sizes, sizes[1:]):
        grow = int(meta["bytes_" + b]) / int(meta["bytes_" + a])
        cells = " | ".join(ratio(t[(b, c)], t[(a, c)]) for c in commands)
        add(f"| {a} → {b} | {grow:.1f} | {cells} |")
    add("")

    big = sizes[-1]
    big_bytes = int(meta["bytes_" + big])
    rss = read_kv(os.path.join(directory, "rss"))
    add(f"Peak memory (max RSS, {meta['rss_tool']}) on the {big} config ({big_bytes:,} bytes):")
    add("")
    if meta["rss_tool"] == "getrusage":
        add("(getrusage counts the Python process each command was started from: figures near 10 MiB are that floor.)")
        add("")
    add("| command | max RSS | ÷ file size |")
    add("|---|---:|---:|")
    for c in commands:
        if c in rss:
            kib = int(rss[c])
            add(f"| {c} | {kib / 1024:,.1f} MiB | {kib * 1024 / big_bytes:.1f}x |")
    add("")
    add(
        f"Binary: {int(meta['binary_bytes']):,} bytes (release profile); "
        f"startup (`ominigate-codex --version`): {ms(float(meta['startup']))} median."
    )
    add("")

    add("### Targets (issue 7)")
    add("")
    targets = []
    small, mid = sizes[0], "1M" if "1M" in sizes else None
    if t[(small, "install")] and t[(small, "cp")]:
        r = t[(small, "install")] / t[(small, "cp")]
        targets.append(f"install on {small} within 3x of cp: {r:.2f}x, {mark(r <= 3)}")
    if mid and t[(mid, "install")] and t[(mid, "tomlkit")]:
        r = t[(mid, "tomlkit")] / t[(mid, "install")]
        targets.append(f"install on {mid} at least 20x faster than tomlkit: {r:.1f}x, {mark(r >= 20)}")
    for c in ["install", "uninstall", "doctor"]:
        steps = [
            (a, b, t[(b, c)] / t[(a, c)])
            for a, b in zip(sizes, sizes[1:])
            if t[(a, c)]
            and t[(b, c)]
            and 9 <= int(meta["bytes_" + b]) / int(meta["bytes_" + a]) <= 11
        ]
        if steps:
            worst = max(steps, key=lambda x: x[2])
            targets.append(
                f"{c}: 10x larger input at most 12x the time: worst step {worst[0]} → {worst[1]} "
                f"{worst[2]:.1f}x, {mark(worst[2] <= 12)}"
            )
    if "install" in rss and big_bytes >= 8 << 20:
        r = int(rss["install"]) * 1024 / big_bytes
        targets.append(f"install peak memory on {big} below 40x the file: {r:.1f}x, {mark(r < 40)}")
    for line in targets:
        add(f"- {line}")
    add("")

    add("### Machine")
    add("")
    with open(os.path.join(directory, "machine")) as f:
        add(f.read().rstrip())
    add("")
    text = "\n".join(lines)
    # bench/bridge.sh and bench/npm.sh own the sections from their markers
    # on (whichever comes first): keep them.
    markers = ["## Bridge (bench/bridge.sh)", NPM_SECTION]
    kept = ""
    if os.path.exists(out_path):
        with open(out_path) as f:
            old = f.read()
        starts = [old.index(m) for m in markers if m in old]
        if starts:
            kept = "\n" + old[min(starts) :]
    with open(out_path, "w") as f:
        f.write("# Benchmark results\n\nWritten by `bench/run.sh`; see docs/performance.md.\n\n")
        f.write(text)
        f.write(kept)
    print(text)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    command, args = sys.argv[1], sys.argv[2:]
    if command == "run":
        run_loop(args)
    elif command == "rss" and args[:1] == ["--"]:
        max_rss(args[1:])
    elif command == "fsync" and len(args) == 1:
        fsync_probe(args[0])
    elif command == "medians" and len(args) == 2:
        print_medians(*args)
    elif command == "report" and len(args) == 2:
        report(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
