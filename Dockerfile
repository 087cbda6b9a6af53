# BAT OS: the bot, compiled, on Node 20, as a non-root user. Build: docker build -t bat-os .
# Run it with compose.yaml (the bot, Ollama and a volume), or: docker run --env-file .env -v bat-data:/data bat-os

# 1. Compile: all dependencies, the native ones built from source, then tsc into dist/ (npm ci's prepare).
FROM node:20-bookworm AS build
WORKDIR /app
COPY . .
RUN npm ci

# 2. What runs: production dependencies only, their native modules built for this image.
#    Install scripts are skipped (the build's `prepare` needs the compiler), then the native ones run.
FROM node:20-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm rebuild better-sqlite3 sqlite3 hnswlib-node

# 3. The image: slim, no compilers, no sources, no dev dependencies.
FROM node:20-bookworm-slim
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
CMD ["sh", "-c", "[ -f \"$CODEX_PATH\" ] || cp codex.toml \"$CODEX_PATH\"; exec node scripts/launch.mjs dist/src/app/main.js"]
