# The api and worker image (one image, two commands), running the compiled build with
# plain node: no tsx, no webpack at start (the workflow bundle is prebuilt). Production
# runs against external PostgreSQL and Temporal: DATABASE_URL and TEMPORAL_ADDRESS.
#   API:    docker run … realtyforyou                       (node dist/api/main.js)
#   worker: docker run … realtyforyou node dist/workers/main.js
#   schema: docker run … realtyforyou node dist/scripts/migrate.js

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts=false
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY activities ./activities
COPY adapters ./adapters
COPY db ./db
COPY lib ./lib
COPY scripts ./scripts
COPY templates ./templates
COPY workers ./workers
COPY workflows ./workflows
RUN npm run build

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/app/.data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The only writable place: local identity key, storage secret, local files (mount a
# shared volume there when running several API instances with local adapters).
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000 3001
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=5 \
  CMD ["node", "dist/scripts/healthcheck.js"]
CMD ["node", "dist/api/main.js"]
