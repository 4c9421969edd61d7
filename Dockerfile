# Realtime Canary on Node.js 22 LTS. Two stages: the build stage installs every dependency and
# compiles TypeScript; the runtime stage keeps only production dependencies and the compiled code,
# and runs as the unprivileged `node` user (the embedded Postgres of a local target refuses root).
#   docker build -t realtime-canary .
#   docker run --rm -p 9464:9464 realtime-canary            # probes an embedded local target
ARG NODE_VERSION=22-bookworm-slim

FROM node:${NODE_VERSION} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION} AS runtime
ENV NODE_ENV=production \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json canary.yaml ./
COPY --chown=node:node migrations ./migrations
COPY --chown=node:node environments ./environments
COPY --chown=node:node probes ./probes
COPY --chown=node:node scenarios ./scenarios
COPY --chown=node:node slos ./slos
COPY --chown=node:node schemas ./schemas
USER node
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["run", "--host", "0.0.0.0"]
