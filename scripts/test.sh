#!/usr/bin/env bash
# Set-up command 2: install everything the tests need, then run the whole suite.
source "$(dirname "$0")/lib.sh"
ensure_bun
ensure_apt logrotate chromium ca-certificates zsh fish util-linux
ensure_deps
ensure_openclaw_clients
ensure_sandbox_host
say "type-checking"
(cd "$ROOT" && bun run typecheck)
say "running the test suite"
cd "$ROOT" && exec bun test --timeout 60000 "$@"
