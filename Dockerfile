# The gossip agent as a container image: small, non-root, with a health check.
#
#   podman build -t gossip .            (or docker build)
#   podman run --rm -e GOSSIP_HTTP_TOKEN=$(openssl rand -hex 16) -p 7946:7946/tcp -p 7946:7946/udp -p 7373:7373 gossip
#
# Stage 1 builds the package exactly as `npm pack` ships it (dist/, bin/, web/dist: the `files`
# of package.json) and installs its production dependencies from the lockfile; stage 2 is the
# Node.js runtime with that directory and nothing else (no compiler, no dev dependencies, no
# npm cache). NODE_IMAGE picks the base (a mirror, or a pinned digest).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY . .
# `npm ci` runs `prepare`, which compiles src/ into dist/ and the dashboard into web/dist.
# Behind a TLS-intercepting proxy, hand its CA bundle in as a build secret (never a layer):
#   podman build --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt .
RUN --mount=type=secret,id=ca,required=false \
    export NODE_EXTRA_CA_CERTS=/run/secrets/ca \
 && npm ci --no-audit --no-fund \
 && npm pack --silent --pack-destination /tmp \
 && mkdir -p /app \
 && tar -xzf /tmp/gossip-*.tgz -C /app --strip-components=1 \
 && cp package-lock.json /app/ \
 && cd /app \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf /root/.npm /app/package-lock.json

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    GOSSIP_DATA_DIR=/var/lib/gossip
COPY --from=build /app /app
# The official Node.js images have the user `node` (uid 1000); the agent never needs root.
RUN mkdir -p /var/lib/gossip && chown node:node /var/lib/gossip
USER node
WORKDIR /var/lib/gossip
# 7946: gossip (UDP and TCP); 7373: the HTTP API, health checks, metrics and dashboard.
EXPOSE 7946/tcp 7946/udp 7373/tcp
# Liveness through the API's health check (no token needed); node itself does the request, the
# slim image has no curl. GOSSIP_HTTP_PORT follows a non-default --http port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.GOSSIP_HTTP_PORT||7373)+'/v1/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM runs the graceful shutdown (not ready, leave, wait for it to spread, stop) within
# --shutdown-grace (GOSSIP_SHUTDOWN_GRACE), 30 s by default: keep it equal to the platform's.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/gossip.js"]
# Off loopback the HTTP API needs a token: set GOSSIP_HTTP_TOKEN (the agent says so otherwise).
CMD ["agent", "--bind", "0.0.0.0:7946", "--http", "0.0.0.0:7373"]
