#!/usr/bin/env bash
# Build the npm packages of ominigate-codex from release binaries:
#   ominigate-codex               bin/ominigate-codex.js (npm/ominigate-codex.js), the launcher,
#                                 and the platform packages as optionalDependencies
#   ominigate-codex-<os>-<cpu>    bin/ominigate-codex, README.md, LICENSE; os and cpu set
# all at the version in Cargo.toml.
#
# usage: scripts/npm-pack.sh [--out DIR] [--bin PLATFORM=PATH]... [--all]
#
#   --out DIR            where the .tgz files go [default: $CARGO_TARGET_DIR/npm, else target/npm]
#   --bin PLATFORM=PATH  use this binary for PLATFORM (linux-x64, linux-arm64, darwin-x64,
#                        darwin-arm64) instead of building it: the release workflow's way
#   --all                fail unless every platform has a binary (for publishing)
#
# Without --bin a platform's binary is built (`cargo build --release --target T`)
# when its Rust target is installed (rustup target list --installed); linux-x64
# prefers static musl and falls back to the host's own target on an x86_64 Linux
# host. Others are skipped with a note. Each package is checked with
# `npm pack --dry-run` to hold exactly the files above, then packed.
# Prints the paths of the .tgz files on stdout, the main package first;
# progress goes to stderr. Needs cargo, node and npm; never uses the network.
set -euo pipefail

die() { printf 'npm-pack: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'npm-pack: %s\n' "$*" >&2; }

cd "$(dirname "$0")/.."
root="$(pwd -P)"
NAME=ominigate-codex

# platform  node os  node cpu  rust targets, preferred first
PLATFORMS=(
  "linux-x64    linux  x64    x86_64-unknown-linux-musl"
  "linux-arm64  linux  arm64  aarch64-unknown-linux-musl"
  "darwin-x64   darwin x64    x86_64-apple-darwin"
  "darwin-arm64 darwin arm64  aarch64-apple-darwin"
)

out=""
all=false
declare -A given=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) [[ $# -ge 2 ]] || die "--out needs a directory"; out="$2"; shift 2 ;;
    --bin)
      [[ $# -ge 2 && "$2" == *=* ]] || die "--bin needs PLATFORM=PATH"
      given["${2%%=*}"]="${2#*=}"; shift 2 ;;
    --all) all=true; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
for p in "${!given[@]}"; do
  printf '%s\n' "${PLATFORMS[@]}" | grep -q "^$p " \
    || die "--bin $p=…: unknown platform (known: linux-x64 linux-arm64 darwin-x64 darwin-arm64)"
  [[ -f "${given[$p]}" && -x "${given[$p]}" ]] || die "--bin $p=${given[$p]}: not an executable file"
done
for tool in cargo node npm; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found on PATH"
done

target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="${out:-$target_dir/npm}"
mkdir -p "$out"
out="$(cd "$out" && pwd -P)"

# One version, from Cargo.toml (through cargo, which reads it as cargo does).
meta="$(cargo metadata --no-deps --format-version 1 --offline --manifest-path "$root/Cargo.toml")"
field() {
  node -e 'const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
           const p = m.packages.find((p) => p.name === process.argv[1]);
           process.stdout.write(String(p[process.argv[2]] ?? ""));' "$NAME" "$1" <<<"$meta"
}
version="$(field version)"
description="$(field description)"
license="$(field license)"
repository="$(field repository)"
[[ -n "$version" ]] || die "no version in Cargo.toml"
log "version $version (Cargo.toml)"

installed_targets="$(rustup target list --installed 2>/dev/null || true)"
host="$(rustc -vV | sed -n 's/^host: //p')"

# The binary for one platform: given, or built now; empty when neither.
binary_for() {
  local platform="$1" target="$2"
  if [[ -n "${given[$platform]:-}" ]]; then
    printf '%s\n' "${given[$platform]}"
    return
  fi
  local build=()
  if grep -qx "$target" <<<"$installed_targets"; then
    build=(--target "$target")
  elif [[ "$platform" == linux-x64 && "$host" == x86_64-unknown-linux-* ]]; then
    log "linux-x64: Rust target $target is not installed; using the host's $host (not static)"
    target="$host"
  else
    log "$platform: skipped (Rust target $target not installed: rustup target add $target)"
    return
  fi
  log "$platform: cargo build --release ${build[*]}"
  cargo build --release --locked --manifest-path "$root/Cargo.toml" "${build[@]}" >&2
  if [[ ${#build[@]} -gt 0 ]]; then
    printf '%s\n' "$target_dir/$target/release/$NAME"
  else
    printf '%s\n' "$target_dir/release/$NAME"
  fi
}

# write_json FILE KEY JSON [KEY JSON]...: an object of those keys, in order.
write_json() {
  node -e 'const [file, ...kv] = process.argv.slice(1); const o = {};
           for (let i = 0; i < kv.length; i += 2) o[kv[i]] = JSON.parse(kv[i + 1]);
           require("fs").writeFileSync(file, JSON.stringify(o, null, 2) + "\n");' "$@"
}
json_str() { node -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"; }

# Pack STAGE into $out after checking that `npm pack --dry-run` lists
# exactly the expected files; prints the .tgz path.
pack() {
  local stage="$1"; shift
  local want got
  want="$(printf '%s\n' package.json "$@" | sort)"
  got="$(cd "$stage" && npm pack --dry-run --json --ignore-scripts 2>/dev/null \
          | node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
                     console.log(j[0].files.map((f) => f.path).sort().join("\n"))')"
  [[ "$got" == "$want" ]] || die "$(basename "$stage"): npm pack --dry-run lists
$got
instead of
$want"
  local file
  file="$(cd "$stage" && npm pack --ignore-scripts --pack-destination "$out" 2>/dev/null | tail -n1)"
  [[ -f "$out/$file" ]] || die "npm pack in $stage made no tarball"
  printf '%s\n' "$out/$file"
}

stage_root="$(mktemp -d)"
trap 'rm -rf -- "$stage_root"' EXIT

common=(
  version "$(json_str "$version")"
  description "$(json_str "$description")"
  license "$(json_str "$license")"
  repository "$(node -e 'process.stdout.write(JSON.stringify({type: "git", url: "git+" + process.argv[1] + ".git"}))' "$repository")"
)

optional="{"
tarballs=()
missing=()
for row in "${PLATFORMS[@]}"; do
  read -r platform os cpu target <<<"$row"
  pkg="$NAME-$platform"
  optional+="$( [[ "$optional" == "{" ]] || printf ,)\"$pkg\":\"$version\""
  bin="$(binary_for "$platform" "$target")"
  if [[ -z "$bin" ]]; then
    missing+=("$platform")
    continue
  fi
  stage="$stage_root/$pkg"
  mkdir -p "$stage/bin"
  cp "$bin" "$stage/bin/$NAME"
  chmod 0755 "$stage/bin/$NAME"
  cp "$root/LICENSE" "$stage/LICENSE"
  cat >"$stage/README.md" <<EOF
# $pkg

The \`$NAME\` binary for $os on $cpu, version $version. You do not install this
package yourself: install \`$NAME\`, whose launcher runs this binary.

\`\`\`sh
npx $NAME install        # or: npm i -g $NAME && $NAME install
\`\`\`

See ${repository:-the $NAME package} for what it does.
EOF
  write_json "$stage/package.json" \
    name "$(json_str "$pkg")" "${common[@]}" \
    os "[\"$os\"]" cpu "[\"$cpu\"]" \
    files '["bin/'"$NAME"'", "README.md", "LICENSE"]' \
    preferUnplugged true
  tarballs+=("$(pack "$stage" "bin/$NAME" README.md LICENSE)")
  log "$platform: $(basename "${tarballs[-1]}") ($(file -b "$bin" 2>/dev/null | cut -d, -f1-2 || echo binary))"
done
optional+="}"

if [[ ${#missing[@]} -gt 0 ]] && $all; then
  die "--all: no binary for ${missing[*]}"
fi
[[ ${#tarballs[@]} -gt 0 ]] || die "no platform binary: build one or pass --bin PLATFORM=PATH"

stage="$stage_root/$NAME"
mkdir -p "$stage/bin"
cp "$root/npm/$NAME.js" "$stage/bin/$NAME.js"
chmod 0755 "$stage/bin/$NAME.js"
cp "$root/README.md" "$stage/README.md"
cp "$root/LICENSE" "$stage/LICENSE"
write_json "$stage/package.json" \
  name "$(json_str "$NAME")" "${common[@]}" \
  bin "{\"$NAME\": \"bin/$NAME.js\"}" \
  files "[\"bin/$NAME.js\", \"README.md\", \"LICENSE\"]" \
  engines '{"node": ">=16"}' \
  optionalDependencies "$optional"
main="$(pack "$stage" "bin/$NAME.js" README.md LICENSE)"

printf '%s\n' "$main" "${tarballs[@]}"
