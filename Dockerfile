# Autopilot: Node 22 with the PostgreSQL client tools (pg_dump, pg_restore, psql) it runs.
# Point DATABASE_URL at a PostgreSQL server for the app's own store; the image holds no server.

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No scripts: `prepare` builds the CLI bundle from src/, not copied yet; bin/autopilot.js then runs the
# TypeScript through tsx. esbuild (tsx's compiler) works without its postinstall, which only checks its binary.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:22-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json app.yml tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
RUN useradd --system --uid 10001 --home /app autopilot && mkdir -p /app/.autopilot && chown autopilot /app/.autopilot
USER autopilot
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:3000/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The same command as `npm start` (package.json; test/app-start.test.ts checks they agree): see README "Docker" for the flags and the memory they need.
CMD ["node", "--max-semi-space-size=64", "--initial-old-space-size=256", "--import", "tsx", "src/main.ts"]
