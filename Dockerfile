# BAT OS: the bot, compiled, on Node 24 LTS, as a non-root user. Build: docker build -t bat-os .
# Run it with compose.yaml (the bot, Ollama, the models pulled, a volume each), or:
#   docker run --env-file .env -v bat-data:/data bat-os
#
# Node is pinned to a release, the one .ci/run also runs the tests on (NODE_24 there): raise both
# together. Each stage copies package.json and package-lock.json and runs `npm ci` before it copies
# the sources, so an edit to the sources reuses the installed (and compiled) dependencies.

# 1. Compile: every dependency (the compiler is one), then tsc into dist/. Install scripts are
#    skipped: tsc needs none of the native modules, and `prepare` (the build) needs the sources.
FROM node:24.22.3-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY commands ./commands
RUN npm run build

# 2. What runs: production dependencies only, the three native modules built here, for this Node,
#    where the compilers are (install scripts skipped, then only theirs run): better-sqlite3 (the
#    stores), sqlite3 (keyv's SQLite, the bot's state) and hnswlib-node (the memory index).
FROM node:24.22.3-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm rebuild better-sqlite3 sqlite3 hnswlib-node

# 3. The image: slim, no compilers, no sources, no dev dependencies. The charts' font comes with
#    the dependencies (a slim image has no fonts of its own).
FROM node:24.22.3-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    DATA_DIR=/data \
    CODEX_PATH=/data/codex.toml \
    FORGE_DIR=/data/tools \
    METRICS_PORT=9464 \
    METRICS_HOST=0.0.0.0
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json codex.toml ./
COPY scripts ./scripts
# The trainer, for a FINETUNE_COMMAND run on this host (it needs Python, its libraries and a GPU).
COPY forge/finetune ./forge/finetune
RUN mkdir -p /data && chown node:node /data
USER node
# Conversations, memory, golden sets, fine-tune records, forged tools and the codex in force.
VOLUME ["/data"]
EXPOSE 9464
# 200 once Discord is connected and the stores are open (see METRICS_PORT).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The codex starts as the shipped one; from then on it lives (and is amended) on the volume.
# --config-error-exit-0: a configuration error (a missing token, a bad setting: the message is in
# `docker compose logs bot`) ends the container with 0, which `restart: on-failure` leaves down.
CMD ["sh", "-c", "[ -f \"$CODEX_PATH\" ] || cp codex.toml \"$CODEX_PATH\"; exec node scripts/launch.mjs --config-error-exit-0 dist/src/app/main.js"]
