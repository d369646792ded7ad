# The api and worker image (one image, two commands). Production runs against external
# PostgreSQL and Temporal: DATABASE_URL and TEMPORAL_ADDRESS are required.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY api ./api
COPY activities ./activities
COPY adapters ./adapters
COPY db ./db
COPY lib ./lib
COPY scripts ./scripts
COPY templates ./templates
COPY workers ./workers
COPY workflows ./workflows
RUN mkdir -p /app/.data && chown -R node:node /app/.data
USER node
EXPOSE 3000 3001
CMD ["node", "--import", "tsx", "api/main.ts"]
