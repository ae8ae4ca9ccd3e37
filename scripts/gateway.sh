#!/usr/bin/env bash
# Set-up command 1: install what is missing, build dist/openclaw, run the gateway in the foreground.
# Extra arguments go to `openclaw gateway` (e.g. --port 18789 --host 127.0.0.1).
source "$(dirname "$0")/lib.sh"
ensure_bun
ensure_apt bubblewrap
ensure_deps
say "building dist/openclaw"
(cd "$ROOT" && bun run build >/dev/null)
say "starting the gateway (state in ${OPENCLAW_HOME:-$HOME/.openclaw}; Ctrl-C stops it)"
exec "$ROOT/dist/openclaw" gateway "$@"
