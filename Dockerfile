# syntax=docker/dockerfile:1
# One image for both programs (BuildKit is Docker's default builder since 23.0; the heredoc below needs it):
#
#   docker build -t apiway:dev .
#   docker run --rm apiway:dev gateway --help
#   docker run --rm apiway:dev operator --help
#
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step:
# the image is the sources, their production dependencies and Node. It runs as uid 65532 with
# nothing to write: the operator and the Kubernetes-mode gateway write only through the API; the
# standalone gateway writes its state to --state-dir (mount a volume, e.g. /var/lib/apiway).
# See docs/install-helm.md.

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# No production dependency has an install script (only the `node` dev dependency does).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOME=/tmp
WORKDIR /app
# Owned by root and not writable by the user the programs run as.
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY crds ./crds
COPY gateway/src ./gateway/src
COPY operator/src ./operator/src
# `node /app/apiway.js gateway|operator ARGS`: runs the program named by the first argument
# with the rest of the command line.
COPY <<'EOF' /app/apiway.js
const programs = { gateway: './gateway/src/main.ts', operator: './operator/src/main.ts' };
const [name] = process.argv.splice(2, 1);
if (Object.hasOwn(programs, name)) {
  await import(programs[name]);
} else {
  const usage = 'usage: apiway gateway [--help | OPTIONS]\n       apiway operator [--help | OPTIONS]\n';
  const help = name === undefined || name === '--help' || name === '-h';
  (help ? process.stdout : process.stderr).write(help ? usage : `apiway: unknown program ${JSON.stringify(name)}\n${usage}`);
  process.exitCode = help ? 0 : 2;
}
EOF
RUN mkdir -p /var/lib/apiway && chown 65532:65532 /var/lib/apiway
USER 65532:65532
# Gateway: 8080 (APIs and OAuth2), 9090 (health, metrics). Operator: 9091 (health, metrics).
EXPOSE 8080 9090 9091
# A young generation of at most 2 × 16 MiB: Node 24 lets it grow to 2 × 64 MiB after a large
# snapshot is parsed and keeps it (128 MiB of a gateway's 512 MiB at 10k Apis / 100k
# Subscriptions; no measurable CPU cost per request or per compile, docs/benchmarks.md).
# gateway/bin/apiway-gateway.js runs the gateway with the same flag.
ENTRYPOINT ["node", "--max-semi-space-size=16", "/app/apiway.js"]
CMD ["--help"]
