# flowrecon HTTP API in a container: `docker build -t flowrecon . && docker run -p 8080:8080 flowrecon`.
# Settings are environment variables (see `flowrecon --help`), e.g. -e FLOWRECON_TOKEN=...

# Build stage: the dev dependencies (assemblyscript) compile the engine; only runtime ones are kept.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY asconfig.json tsconfig.json ./
COPY assembly ./assembly
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev --ignore-scripts

# Runtime stage: the built engine and host, no compiler.
FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/flowrecon.wasm ./build/flowrecon.wasm
COPY --from=build /src/bin ./bin
USER node
EXPOSE 8080
# SIGTERM: in-flight requests finish (FLOWRECON_SHUTDOWN_GRACE, 30 s), then the process exits.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The V8 flags of package.json "start" (test/http/server-gc.test.ts checks they are the same).
CMD ["node", "--initial-old-space-size=64", "bin/flowrecon.js", "serve"]
