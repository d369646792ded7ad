# The api and worker image (one image, two commands), running the compiled build with
# plain node: no tsx, no webpack at start (the workflow bundle is prebuilt). Production
# runs against external PostgreSQL and Temporal: DATABASE_URL and TEMPORAL_ADDRESS.
#   API:    docker run … realtyforyou                       (node dist/api/main.js)
#   worker: docker run … realtyforyou node dist/workers/main.js
#   schema: docker run … realtyforyou node dist/scripts/migrate.js
# Workers transcribe on their own CPU by default (faster-whisper, the pinned tiny.en model):
# the hash-locked STT virtualenv is built here and copied in. With
# TRANSCRIPTION_PROVIDER=openai it is simply not used.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Python 3.11 (Debian bookworm's) builds the STT virtualenv from hash-pinned wheels.
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts=false
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY contracts ./contracts
COPY activities ./activities
COPY adapters ./adapters
COPY db ./db
COPY lib ./lib
COPY scripts ./scripts
COPY templates ./templates
COPY workers ./workers
COPY workflows ./workflows
RUN npm run build && npm run stt:toolchain

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/app/.data
WORKDIR /app
# The STT virtualenv's interpreter is the system python3 (same path as in the build stage).
RUN apt-get update && apt-get install -y --no-install-recommends python3 \
  && rm -rf /var/lib/apt/lists/*
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/.tools/stt ./.tools/stt
COPY package.json ./
# The only writable place: local identity key, storage secret, local files (mount a
# shared volume there when running several API instances with local adapters).
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000 3001
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
  CMD ["node", "dist/scripts/healthcheck.js"]
CMD ["node", "dist/api/main.js"]
