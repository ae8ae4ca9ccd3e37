#!/usr/bin/env bash
# Installs an OpenClawMU release: checks the binary against SHA256SUMS, installs it as
# /usr/local/bin/openclaw, creates the `openclaw` system user and /var/lib/openclaw (0700), and
# installs and (when systemd runs) enables the service. A checksum mismatch installs nothing.
#
#   deploy/install.sh --from <URL|FILE> [--sums <URL|FILE>] [--root DIR] [--no-service] [--no-user]
#
#   --from    the release binary (e.g. https://…/openclaw-linux-x64, or dist/release/openclaw-linux-x64)
#   --sums    its SHA256SUMS (default: SHA256SUMS next to --from)
#   --root    install under DIR instead of / (for packaging and tests; the user is created with
#             useradd --prefix DIR, so DIR/etc/passwd must exist for that)
set -euo pipefail

FROM="" SUMS="" ROOT="" SERVICE=1 USER_ACCOUNT=1
while [ $# -gt 0 ]; do
  case "$1" in
    --from) FROM="${2:?--from needs a value}"; shift 2 ;;
    --sums) SUMS="${2:?--sums needs a value}"; shift 2 ;;
    --root) ROOT="${2:?--root needs a value}"; shift 2 ;;
    --no-service) SERVICE=0; shift ;;
    --no-user) USER_ACCOUNT=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$FROM" ] || { echo "install.sh: --from <URL|FILE> is required" >&2; exit 2; }
if [ -z "$SUMS" ]; then SUMS="$(dirname "$FROM")/SHA256SUMS"; fi

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

fetch() { # fetch SRC DEST
  case "$1" in
    http://*|https://*)
      if command -v curl >/dev/null; then curl -fsSL --proto '=https,http' -o "$2" "$1" || die "cannot download $1"
      elif command -v wget >/dev/null; then wget -q -O "$2" "$1" || die "cannot download $1"
      else die "neither curl nor wget is installed to download $1"; fi ;;
    *) [ -f "$1" ] || die "$1: no such file"; cp "$1" "$2" ;;
  esac
}

NAME="$(basename "$FROM")"
fetch "$FROM" "$WORK/$NAME"
fetch "$SUMS" "$WORK/SHA256SUMS"
WANT="$(awk -v n="$NAME" '$2 == n || $2 == "*" n { print $1 }' "$WORK/SHA256SUMS")"
[ -n "$WANT" ] || die "SHA256SUMS has no line for $NAME; nothing installed"
GOT="$(sha256sum "$WORK/$NAME" | awk '{ print $1 }')"
[ "$GOT" = "$WANT" ] || die "checksum mismatch for $NAME (expected $WANT, got $GOT); nothing installed"
say "checksum verified: $NAME $GOT"
chmod +x "$WORK/$NAME"
"$WORK/$NAME" --version >/dev/null 2>&1 || die "$NAME does not run on this machine ($(uname -m)); nothing installed"

BIN="$ROOT/usr/local/bin/openclaw"
install -D -m 0755 "$WORK/$NAME" "$BIN"
say "installed $BIN ($("$BIN" --version))"

STATE="$ROOT/var/lib/openclaw"
if [ "$USER_ACCOUNT" = 1 ]; then
  PREFIX=()
  [ -n "$ROOT" ] && PREFIX=(--prefix "$ROOT")
  if ! grep -q '^openclaw:' "$ROOT/etc/passwd" 2>/dev/null; then
    useradd "${PREFIX[@]}" --system --user-group --home-dir /var/lib/openclaw --no-create-home --shell /usr/sbin/nologin openclaw
    say "created the system user openclaw"
  fi
fi
install -d -m 0700 "$STATE"
if [ "$USER_ACCOUNT" = 1 ]; then
  uid="$(awk -F: '$1 == "openclaw" { print $3 }' "$ROOT/etc/passwd")"
  gid="$(awk -F: '$1 == "openclaw" { print $4 }' "$ROOT/etc/passwd")"
  chown "$uid:$gid" "$STATE"
fi
say "state directory $STATE (0700)"

if [ "$SERVICE" = 1 ]; then
  install -D -m 0644 "$HERE/openclaw.service" "$ROOT/etc/systemd/system/openclaw.service"
  install -d -m 0750 "$ROOT/etc/openclaw"
  say "installed $ROOT/etc/systemd/system/openclaw.service"
  if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now openclaw.service
    say "openclaw.service enabled and started (journalctl -u openclaw)"
  else
    say "systemd is not running here: start it later with systemctl enable --now openclaw"
  fi
fi
say "done. Next: sudo -u openclaw OPENCLAW_HOME=/var/lib/openclaw openclaw admin-key rotate"
