# OpenClawMU gateway image. Multi-stage: the binary is compiled in a build stage (Node.js + npm to get
# Bun), and the final image holds only the binary, bubblewrap and CA certificates, running as a
# non-root user with its state in a volume.
#
#   docker build -t openclawmu:latest .
#   docker run -d --name openclaw -p 127.0.0.1:18789:18789 -v openclaw-state:/var/lib/openclaw \
#     -e OPENCLAW_ADMIN_KEY=… openclawmu:latest
#
# No registry here? Make the base image yourself and import it under the name below:
#   debootstrap --variant=minbase bookworm rootfs http://deb.debian.org/debian
#   tar -C rootfs -c . | docker import - debian:bookworm-slim
# (scripts/docker-base.sh does exactly that.) Sandboxes inside a container: see README "Docker".
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
# Behind a TLS-inspecting proxy, pass its CA (PEM) so npm and Bun can reach the registry:
#   --build-arg EXTRA_CA_CERT="$(cat /usr/local/share/ca-certificates/proxy.crt)"
# It is used by this build stage only; the final image does not contain it.
ARG EXTRA_CA_CERT=""
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && if [ -n "$EXTRA_CA_CERT" ]; then printf '%s\n' "$EXTRA_CA_CERT" > /usr/local/share/ca-certificates/build-extra.crt && update-ca-certificates; fi
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN npm install -g --no-audit --no-fund bun@1.4.5
WORKDIR /src
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile
COPY . .
RUN bun run build && ./dist/openclaw --version

FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/openclaw --no-create-home --shell /usr/sbin/nologin openclaw \
 && install -d -m 0700 -o openclaw -g openclaw /var/lib/openclaw
COPY --from=build /src/dist/openclaw /usr/local/bin/openclaw
USER openclaw
ENV OPENCLAW_HOME=/var/lib/openclaw
VOLUME ["/var/lib/openclaw"]
EXPOSE 18789
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["openclaw", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["openclaw"]
CMD ["gateway", "--host", "0.0.0.0"]
