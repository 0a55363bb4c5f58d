#!/usr/bin/env bash
# The main command (README): installs (Node 24 + pnpm if the system Node is older than 22.19),
# builds, and runs the demo against the embedded mock issuer over HTTPS with a private CA.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
pnpm install --frozen-lockfile --reporter=append-only
pnpm turbo run build --output-logs=errors-only
node tooling/demo/demo.mjs
