# syntax=docker/dockerfile:1.7
#
# One image for the four services; the command picks one (the default runs ingest):
#
#   docker build -t imgpipe .
#   docker run imgpipe node processor/dist/main.js     # or ingest | aggregator | notifier
#   docker run imgpipe node provision.js               # topics, tables and bucket, then exit
#
# Stages: `build` compiles every workspace with all dependencies; `deps` installs production
# dependencies only (no compiler or test tools in the final image); `runtime` puts the two
# together and runs as a non-root user.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: npm ci (dev dependencies included) and tsc -b → */dist ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until package-lock.json changes.
COPY package.json package-lock.json ./
COPY schemas/package.json schemas/
COPY platform/package.json platform/
COPY ingest/package.json ingest/
COPY processor/package.json processor/
COPY aggregator/package.json aggregator/
COPY notifier/package.json notifier/
COPY cli/package.json cli/
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY schemas schemas
COPY platform platform
COPY ingest ingest
COPY processor processor
COPY aggregator aggregator
COPY notifier notifier
COPY docs/openapi.yaml docs/
# Fails the build, instead of shipping an image that cannot start, if a service emitted nothing.
RUN npx tsc -b \
  && for svc in ingest processor aggregator notifier; do test -f "$svc/dist/main.js"; done

# ---- deps: production dependencies only ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY schemas/package.json schemas/
COPY platform/package.json platform/
COPY ingest/package.json ingest/
COPY processor/package.json processor/
COPY aggregator/package.json aggregator/
COPY notifier/package.json notifier/
COPY cli/package.json cli/
# --omit=dev drops the root devDependencies (TypeScript, Jest, ESLint, tsx) but keeps optional
# dependencies: sharp's prebuilt binary for this platform (@img/sharp-linux-x64 and
# @img/sharp-libvips-linux-x64, or the arm64 pair) is an optional dependency in the lockfile.
# The workspaces are linked as node_modules/@imgpipe/* → ../../<package>, filled in below.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund \
  && node -e "require('sharp')"

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
# jemalloc instead of glibc malloc: libvips' many small allocations across threads fragment
# glibc's arenas until a long-running processor looks like it leaks (sharp's installation
# docs, "Linux memory allocator"; sharp also cuts its thread pool to 1 on plain glibc).
RUN apt-get update \
  && apt-get install -y --no-install-recommends libjemalloc2 \
  && rm -rf /var/lib/apt/lists/* \
  && ln -s "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/local/lib/libjemalloc.so.2
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
    NODE_ENV=production
WORKDIR /app
# Code and dependencies stay root-owned: the service user can read them, never change them.
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/schemas/package.json schemas/
COPY --from=build /app/schemas/dist schemas/dist
# The codec and the migration runner read these relative to dist/.. (schemas/src/avro.ts, cql.ts).
COPY --from=build /app/schemas/avro schemas/avro
COPY --from=build /app/schemas/cql schemas/cql
COPY --from=build /app/platform/package.json platform/
COPY --from=build /app/platform/dist platform/dist
COPY --from=build /app/ingest/package.json ingest/
COPY --from=build /app/ingest/dist ingest/dist
# The web page and the OpenAPI document are read relative to ingest/dist/.. (http/public-site.ts).
COPY --from=build /app/ingest/web ingest/web
COPY --from=build /app/docs/openapi.yaml docs/openapi.yaml
COPY --from=build /app/processor/package.json processor/
COPY --from=build /app/processor/dist processor/dist
COPY --from=build /app/aggregator/package.json aggregator/
COPY --from=build /app/aggregator/dist aggregator/dist
COPY --from=build /app/notifier/package.json notifier/
COPY --from=build /app/notifier/dist notifier/dist

# One-shot provisioning with the services' own code: catalogue topics, CQL migrations, bucket.
# Used by the compose `provision` service and the Kubernetes provision Job; idempotent.
COPY <<'EOF' provision.js
'use strict';
const p = require('@imgpipe/platform');
const { allTopics, cqlMigrationsDir } = require('@imgpipe/schemas');

async function main() {
  const env = p.parseEnv(
    p.kafkaEnv
      .extend(p.cassandraEnv.shape)
      .extend(p.s3Env.shape)
      .extend({
        LOG_LEVEL: p.envField.logLevel(),
        KAFKA_TOPIC_REPLICATION_FACTOR: p.envField.int(1, 1),
      }),
    process.env,
  );
  const logger = p.createLogger({ service: 'provision', level: env.LOG_LEVEL });
  const s3 = p.createS3Client(env);
  try {
    const [created] = await Promise.all([
      p.ensureTopics(p.createKafka(env, logger), allTopics(), env.KAFKA_TOPIC_REPLICATION_FACTOR),
      p.migrate(env, { dir: cqlMigrationsDir, logger }),
      p.ensureBucket(s3, env.S3_BUCKET),
    ]);
    logger.info({ createdTopics: created }, 'provisioned topics, tables and bucket');
  } finally {
    s3.destroy();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
EOF

# The image's `node` user, by number so Kubernetes can verify runAsNonRoot.
USER 1000:1000
CMD ["node", "ingest/dist/main.js"]
