# syntax=docker/dockerfile:1
# whatsgate-monitor container image.
#
#   docker build -t whatsgate-monitor .
#   docker run -d --name whatsgate-monitor \
#     -v ./config.yml:/etc/whatsgate-monitor/config.yml:ro \
#     -v whatsgate-monitor-data:/var/lib/whatsgate-monitor \
#     -e WHATSGATE_TOKEN=… -p 127.0.0.1:8749:8749 whatsgate-monitor
#
# In a container the config must say `listen: 0.0.0.0:8749`: the default 127.0.0.1 is the
# container's own loopback, which a published port cannot reach. Keep state_dir at its default
# (/var/lib/whatsgate-monitor, the volume). See docs/operations.md, "Docker".

# --- build: compile TypeScript and the better-sqlite3 native addon ---------------------------
FROM node:20-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts keeps `prepare` (the build) from running before the sources are here;
# better-sqlite3's install script (prebuilt binary, else node-gyp) runs explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime ------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    WHATSGATE_MONITOR_CONFIG=/etc/whatsgate-monitor/config.yml
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
# The image's own user `node` (uid 1000) owns the state folder; nothing else is writable.
RUN mkdir -p /var/lib/whatsgate-monitor /etc/whatsgate-monitor \
 && chown node:node /var/lib/whatsgate-monitor \
 && chmod 0700 /var/lib/whatsgate-monitor \
 && ln -s /app/dist/cli.js /usr/local/bin/whatsgate-monitor
USER node
VOLUME /var/lib/whatsgate-monitor
EXPOSE 8749
# No curl in the slim image: Node's fetch. /healthz is never behind basic auth. Set
# HEALTHCHECK_URL when the config listens on another port.
ENV HEALTHCHECK_URL=http://127.0.0.1:8749/healthz
# As the systemd unit: large blocks go back to the system when freed (about 20 MB less at 10,000
# devices), instead of glibc raising its thresholds and keeping them.
# And V8's young generation capped at 4 MB a half (about 25 MB less, for about 15 % more CPU per
# check; `-e NODE_OPTIONS=` undoes it).
ENV MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072 \
    NODE_OPTIONS=--max-semi-space-size=4
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL,{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
# Node handles SIGTERM itself (clean stop within 10 s); `docker stop` waits 10 s by default, so
# give it a little more: docker stop -t 15, or stop_grace_period: 15s in compose.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["run"]
