#!/usr/bin/env node
// The `ominigate-codex` command of the npm package: runs the native binary
// from the platform package npm installed beside it (one of this package's
// optionalDependencies, each limited to its os and cpu), with the same
// arguments, stdin, stdout and stderr, and ends the way the binary ended:
// its exit status, or the signal that killed it. scripts/npm-pack.sh copies
// this file into the package as bin/ominigate-codex.js. No dependencies.
"use strict";

const { spawn } = require("child_process");
const os = require("os");
const path = require("path");

const NAME = "ominigate-codex";
const manifest = require(path.join(__dirname, "..", "package.json"));

// The platform packages are the optionalDependencies, named NAME-os-cpu.
const platforms = Object.keys(manifest.optionalDependencies || {})
  .filter((dep) => dep.startsWith(`${NAME}-`))
  .map((dep) => dep.slice(NAME.length + 1));
const platform = `${process.platform}-${process.arch}`;

function fail(lines) {
  process.stderr.write(lines.map((line) => `${NAME}: ${line}\n`).join(""));
  process.exit(1);
}

if (!platforms.includes(platform)) {
  fail([
    `error: no prebuilt binary for ${platform}`,
    `prebuilt binaries exist for: ${platforms.join(", ")}`,
    `help: elsewhere, build it with Rust: cargo install ${NAME}`,
  ]);
}

const pkg = `${NAME}-${platform}`;
let binary;
try {
  const dir = path.dirname(require.resolve(`${pkg}/package.json`));
  binary = path.join(dir, "bin", NAME);
} catch {
  fail([
    `error: the package ${pkg}, which holds the binary for ${platform}, is not installed`,
    "npm leaves it out when optional dependencies are omitted (--omit=optional, --no-optional)",
    `help: npm install -g ${NAME}@${manifest.version}   (with optional dependencies)`,
  ]);
}

const child = spawn(binary, process.argv.slice(2), {
  stdio: "inherit",
  env: { ...process.env, OMINIGATE_CODEX_INSTALLER: "npm" },
});

child.on("error", (err) => {
  fail([`error: cannot run ${binary}: ${err.message}`, `help: npm install -g ${NAME}@${manifest.version}`]);
});

// A Ctrl-C reaches the whole process group, the binary included; a signal
// sent to this process alone (kill PID, a supervisor) is passed on. Either
// way the binary decides, and this process ends when it does.
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
const forward = (signal) => {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill(signal);
  }
};
for (const signal of FORWARDED) {
  process.on(signal, forward);
}

child.on("exit", (code, signal) => {
  if (signal === null) {
    process.exit(code === null ? 1 : code);
  }
  // Die of the same signal, so the shell sees what the binary's caller
  // would have seen (status 130 for SIGINT).
  for (const s of FORWARDED) {
    process.removeListener(s, forward);
  }
  try {
    process.kill(process.pid, signal);
  } catch {
    // fall through to the exit status a shell would report
  }
  // A signal Node ignores (SIGPIPE) or cannot raise: 128 + its number.
  setTimeout(() => process.exit(128 + (os.constants.signals[signal] || 0)), 100);
});
