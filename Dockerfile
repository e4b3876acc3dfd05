# The image of one service, chosen by the SERVICE build argument (auth, user or chat); the
# three differ only in which folder they ship and start. Build from the repository root
# (the workspace lockfile lives there):
#   docker build --build-arg SERVICE=auth -t chat-auth .
# Secrets come from the environment at run time, never from the image: see compose.yaml.

FROM oven/bun:1.4.5-slim AS deps
WORKDIR /app
# Manifests only, so this layer is rebuilt only when dependencies change; every workspace's
# package.json too, so a dependency declared in one of them is installed as well. It does
# not depend on SERVICE, so the three images share it.
COPY package.json bun.lock bunfig.toml ./
COPY common/package.json common/
COPY auth/package.json auth/
COPY user/package.json user/
COPY chat/package.json chat/
COPY client/package.json client/
RUN bun install --frozen-lockfile --production

FROM oven/bun:1.4.5-slim
ARG SERVICE
# An empty or unknown SERVICE would copy the wrong folder (or the whole context): stop here.
RUN case "$SERVICE" in auth|user|chat) ;; *) echo "build with --build-arg SERVICE=auth|user|chat (got '$SERVICE')" >&2; exit 1 ;; esac
WORKDIR /app
# No PORT: each service listens on its default from common/src/ports.ts unless compose sets one.
# No runtime transpiler cache: it would live in the home folder, which a read-only root
# (deploy/kubernetes) refuses on every start, and a new container starts without it anyway.
ENV NODE_ENV=production HOST=0.0.0.0 SERVICE=${SERVICE} BUN_RUNTIME_TRANSPILER_CACHE_PATH=0
COPY --from=deps /app/node_modules node_modules
# tsconfig.json maps @chat/common/* to common/src, which Bun follows at run time.
COPY package.json tsconfig.json ./
COPY common common
COPY ${SERVICE} ${SERVICE}
# The image's own unprivileged user; the app writes nothing to disk in production.
USER bun
# Slim images have no curl: Bun's fetch is the probe. /health answers once migrations ran and the port is open.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=5 \
  CMD ["bun", "common/src/healthcheck.ts"]
# exec: the service itself is PID 1 and gets the SIGTERM of `docker stop`. The header limit
# sits above Caddy's, so the service answers an oversized header (see scripts/stack.ts).
CMD ["sh", "-c", "exec bun --max-http-header-size=327680 run \"$SERVICE/src/index.ts\""]
