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
