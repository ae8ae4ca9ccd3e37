# Shared by scripts/gateway.sh and scripts/test.sh: get the pinned Bun, system packages and npm
# dependencies onto a fresh Debian machine that has only Node.js and npm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUN_VERSION="1.4.5"
export PATH="$ROOT/.tools/node_modules/.bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2; return 1
  fi
}

ensure_bun() {
  if command -v bun >/dev/null && [ "$(bun --version 2>/dev/null)" = "$BUN_VERSION" ]; then return; fi
  say "installing bun@$BUN_VERSION into .tools/ (npm)"
  npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools" "bun@$BUN_VERSION" >/dev/null
  [ "$(bun --version)" = "$BUN_VERSION" ] || { echo "bun $BUN_VERSION did not install" >&2; exit 1; }
}

# ensure_apt PKG... installs the Debian packages that are missing.
ensure_apt() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return
  say "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_deps() {
  say "installing npm dependencies (bun install --frozen-lockfile)"
  (cd "$ROOT" && bun install --frozen-lockfile --silent)
}

# The sandbox backends the escape probes run against: bubblewrap, a Docker engine with gVisor
# registered as two runtimes (runsc; runsc-egress, which may reach the egress socket), busybox for the
# local image, and gcc to build the probes.
ensure_sandbox_host() {
  ensure_apt bubblewrap util-linux busybox-static gcc libc6-dev docker.io runsc systemd curl
  local want="$ROOT/deploy/docker-daemon.json"
  local conf=/etc/docker/daemon.json
  local restart=0
  if ! bun "$ROOT/scripts/docker-runtimes.ts" check "$conf" 2>/dev/null; then
    say "registering the gVisor runtimes in $conf"
    as_root mkdir -p /etc/docker
    as_root bun "$ROOT/scripts/docker-runtimes.ts" merge "$conf" "$want"
    restart=1
  fi
  if docker info >/dev/null 2>&1 && [ "$restart" = 1 ]; then
    say "restarting dockerd to load the runtimes"
    if command -v systemctl >/dev/null && systemctl is-active --quiet docker 2>/dev/null; then as_root systemctl restart docker
    else as_root pkill -x dockerd || true; sleep 2; fi
  fi
  if ! docker info >/dev/null 2>&1; then
    if command -v systemctl >/dev/null && systemctl list-unit-files docker.service >/dev/null 2>&1 && as_root systemctl start docker 2>/dev/null; then :
    else
      say "starting dockerd in the background (log: /var/log/openclaw-ci-dockerd.log)"
      as_root sh -c 'nohup dockerd >/var/log/openclaw-ci-dockerd.log 2>&1 &'
    fi
    for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/openclaw-ci-dockerd.log" >&2; exit 1; }
  fi
}

# Upstream OpenClaw's own clients, for the real-client tests (tests/clients/): Node 24 and the pinned
# `openclaw` package from npm, in a cache directory the tests find (tests/clients/harness.ts reads the
# same OPENCLAW_UPSTREAM_DIR default). Node first, then openclaw with that Node first on PATH (the
# package requires Node >= 24; the machine's own Node is older). playwright-core, which drives Chromium
# (Debian's) for the Control UI test, is one of openclaw's dependencies; installed alone if missing.
OPENCLAW_CLIENTS_VERSION="2026.9.6"
OPENCLAW_CLIENTS_NODE="24.21.0"
ensure_openclaw_clients() {
  local dir="${OPENCLAW_UPSTREAM_DIR:-$ROOT/.cache/openclaw-upstream}"
  local node="$dir/node_modules/node/bin/node"
  local pkg="$dir/node_modules/openclaw/package.json"
  if [ -x "$node" ] && [ "$("$node" --version 2>/dev/null)" = "v$OPENCLAW_CLIENTS_NODE" ] && [ -f "$pkg" ] &&
    [ "$("$node" -p "require('$pkg').version" 2>/dev/null)" = "$OPENCLAW_CLIENTS_VERSION" ] &&
    [ -f "$dir/node_modules/playwright-core/package.json" ]; then return; fi
  say "installing node@$OPENCLAW_CLIENTS_NODE and openclaw@$OPENCLAW_CLIENTS_VERSION into $dir (npm)"
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || printf '{\n  "name": "openclaw-clients",\n  "private": true\n}\n' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "node@$OPENCLAW_CLIENTS_NODE")
  [ "$("$node" --version)" = "v$OPENCLAW_CLIENTS_NODE" ] || { echo "node $OPENCLAW_CLIENTS_NODE did not install into $dir" >&2; exit 1; }
  (cd "$dir" && PATH="$dir/node_modules/.bin:$PATH" npm install --no-audit --no-fund --loglevel=error "openclaw@$OPENCLAW_CLIENTS_VERSION")
  if [ ! -f "$dir/node_modules/playwright-core/package.json" ]; then
    (cd "$dir" && PATH="$dir/node_modules/.bin:$PATH" npm install --no-audit --no-fund --loglevel=error playwright-core)
  fi
  [ "$("$node" -p "require('$pkg').version")" = "$OPENCLAW_CLIENTS_VERSION" ] || { echo "openclaw $OPENCLAW_CLIENTS_VERSION did not install into $dir" >&2; exit 1; }
}
