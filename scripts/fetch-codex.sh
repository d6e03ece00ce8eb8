#!/usr/bin/env bash
# Fetch real Codex CLI binaries from the npm registry for end-to-end tests.
#
# usage: scripts/fetch-codex.sh VERSION [VERSION...]
#
# For each VERSION prints (on stdout, one per line) the absolute path of a
# static `codex` binary, cached at
#   ${OMINIGATE_CODEX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ominigate-codex/codex}/<VERSION>/codex
# VERSION may be `latest`: the newest published plain release X.Y.Z (no
# pre-release, no platform suffix). Downloads only what is not cached yet.
# Needs: npm, tar, and a linux x86_64 host. Progress goes to stderr.
set -euo pipefail

die() { printf 'fetch-codex: error: %s\n' "$*" >&2; exit 1; }
log() { printf 'fetch-codex: %s\n' "$*" >&2; }

[[ $# -ge 1 ]] || { echo "usage: $0 VERSION [VERSION...]   (VERSION: X.Y.Z or latest)" >&2; exit 2; }
command -v npm >/dev/null 2>&1 || die "npm not found on PATH"
command -v tar >/dev/null 2>&1 || die "tar not found on PATH"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) die "only linux x86_64 is supported (this is $(uname -s)-$(uname -m))" ;;
esac

cache_root="${OMINIGATE_CODEX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ominigate-codex/codex}"
mkdir -p "$cache_root" || die "cannot create cache dir $cache_root"
cache_root="$(cd "$cache_root" && pwd -P)"

tmp_dirs=()
cleanup() { local d; for d in "${tmp_dirs[@]+"${tmp_dirs[@]}"}"; do rm -rf -- "$d"; done; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

resolve_latest() {
  local json
  local err; err="$(mktemp)"; tmp_dirs+=("$err")
  json="$(npm view --loglevel=error @openai/codex versions --json 2>"$err")" || {
    show_npm_err "$err"
    die "npm view @openai/codex versions failed (is the npm registry reachable?)"
  }
  # Pick the highest plain X.Y.Z, sorted numerically (not lexically).
  local v
  v="$(printf '%s\n' "$json" | tr -d ' \t[]"' | tr ',' '\n' \
        | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n1)" || true
  [[ -n "$v" ]] || die "could not find any plain release in: npm view @openai/codex versions"
  printf '%s\n' "$v"
}

# npm pack SPEC into DIR; prints the tarball path. On failure returns 3 when
# the registry said the version does not exist (ETARGET/E404), 1 otherwise;
# npm's own error text is left in DIR/npm-err.log.
npm_pack() {
  local spec="$1" dir="$2" out
  if ! out="$(cd "$dir" && npm pack --loglevel=error --ignore-scripts "$spec" 2>"$dir/npm-err.log")"; then
    if grep -qE 'code (ETARGET|E404)' "$dir/npm-err.log"; then return 3; fi
    return 1
  fi
  out="$(printf '%s\n' "$out" | tail -n1)"
  if [[ -z "$out" || ! -f "$dir/$out" ]]; then
    echo "npm pack printed no tarball name (got: '$out')" >>"$dir/npm-err.log"
    return 1
  fi
  printf '%s\n' "$dir/$out"
}

show_npm_err() { sed 's/^/  npm: /' "$1" >&2 || true; }

check_binary() {
  local bin="$1" version="$2" got
  got="$("$bin" --version 2>/dev/null)" || { log "$bin --version failed"; return 1; }
  if [[ "$got" != "codex-cli $version" ]]; then
    log "$bin --version printed '$got', expected 'codex-cli $version'"
    return 1
  fi
}

fetch_one() {
  local version="$1"
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] \
    || die "not a version: '$version' (want X.Y.Z or latest)"
  local dest_dir="$cache_root/$version" dest="$cache_root/$version/codex"
  if [[ -x "$dest" ]] && check_binary "$dest" "$version"; then
    printf '%s\n' "$dest"
    return 0
  fi

  local work
  work="$(mktemp -d "$cache_root/.fetch-$version.XXXXXX")" || die "mktemp failed in $cache_root"
  tmp_dirs+=("$work")
  mkdir -p "$work/pack" "$work/x" "$work/out"

  local tarball spec="@openai/codex@$version-linux-x64" rc=0
  log "npm pack $spec ..."
  tarball="$(npm_pack "$spec" "$work/pack")" || rc=$?
  if [[ $rc -eq 3 ]]; then
    # 0.94.0 and older: no per-platform package, the binaries ride in the main one.
    log "no $spec package; trying @openai/codex@$version"
    spec="@openai/codex@$version"
    rc=0
    tarball="$(npm_pack "$spec" "$work/pack")" || rc=$?
  fi
  if [[ $rc -ne 0 ]]; then
    show_npm_err "$work/pack/npm-err.log"
    if [[ $rc -eq 3 ]]; then
      die "Codex $version is not published on npm (npm pack $spec: no such version)"
    fi
    die "npm pack $spec failed (registry unreachable or npm error; see above)"
  fi
  log "extracting $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"
  tar -xzf "$tarball" -C "$work/x" || die "cannot extract $tarball"
  rm -f -- "$tarball"

  # Known locations first, then any regular executable file named `codex`
  # under a vendor/*linux* directory (not the node launcher bin/codex.js).
  local bin="" cand
  for cand in \
    "$work/x/package/vendor/x86_64-unknown-linux-musl/bin/codex" \
    "$work/x/package/vendor/x86_64-unknown-linux-musl/codex/codex" \
    "$work/x/package/bin/codex-x86_64-unknown-linux-musl"; do
    if [[ -f "$cand" ]]; then bin="$cand"; break; fi
  done
  if [[ -z "$bin" ]]; then
    bin="$(find "$work/x/package" -type f \( -name codex -o -name 'codex-x86_64-unknown-linux-*' \) \
             -path '*x86_64*linux*' 2>/dev/null | head -n1)" || true
  fi
  [[ -n "$bin" ]] || die "no linux x86_64 codex executable found in $spec"
  mv -- "$bin" "$work/out/codex"
  chmod 0755 "$work/out/codex"
  check_binary "$work/out/codex" "$version" || die "downloaded binary for $version does not run as expected"

  # Atomic publish: a complete dir is renamed into place.
  rm -rf -- "$work/x"
  if [[ -e "$dest_dir" ]]; then
    local old="$dest_dir.old.$$"
    mv -- "$dest_dir" "$old" && tmp_dirs+=("$old")
  fi
  mv -- "$work/out" "$dest_dir" || die "cannot move binary into $dest_dir"
  printf '%s\n' "$dest"
}

for arg in "$@"; do
  v="$arg"
  if [[ "$v" == latest ]]; then
    v="$(resolve_latest)"
    log "latest = $v"
  fi
  fetch_one "$v"
done
