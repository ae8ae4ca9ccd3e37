#!/usr/bin/env bash
# Builds the Dockerfile's base image without a registry: a minimal Debian bookworm from the Debian
# mirror (debootstrap), imported as debian:bookworm-slim. Skips the work if that image exists.
source "$(dirname "$0")/lib.sh"
TAG="${1:-debian:bookworm-slim}"
if docker image inspect "$TAG" >/dev/null 2>&1; then say "$TAG already present"; exit 0; fi
ensure_apt debootstrap
ROOTFS="$(mktemp -d)"
trap 'as_root rm -rf "$ROOTFS"' EXIT
say "debootstrap bookworm (minbase) into $ROOTFS"
as_root debootstrap --variant=minbase bookworm "$ROOTFS" http://deb.debian.org/debian >/dev/null
as_root rm -rf "$ROOTFS/var/cache/apt/archives/"*.deb "$ROOTFS/var/lib/apt/lists/"*
say "importing as $TAG"
as_root tar -C "$ROOTFS" -c . | docker import --change 'CMD ["bash"]' - "$TAG" >/dev/null
docker image inspect "$TAG" --format '{{.Id}} {{.Size}}'
