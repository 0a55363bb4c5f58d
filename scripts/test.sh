#!/usr/bin/env bash
# The test command (README): installs everything the suite needs, then typechecks, builds, lints and runs
# every test — the whole suite inside a real Secret Service session (gnome-keyring under
# dbus-run-session), then the keyring suite again with no D-Bus session to prove the fallback.
# Prints one closing line: "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
bash scripts/system-deps.sh
pnpm install --frozen-lockfile --reporter=append-only
pnpm turbo run typecheck build --output-logs=errors-only
bash scripts/lint.sh

# Each package's vitest JSON report, summed at the end; kept (git-ignored) for inspection.
report_dir="$PWD/test-artifacts/reports"
rm -rf "$report_dir" && mkdir -p "$report_dir"
export CODEX_AUTH_TEST_REPORT_DIR="$report_dir"
pack_dir=""
trap 'rm -rf ${pack_dir:+"$pack_dir"}' EXIT
status=0
# The packages as a registry user gets them: pack every publishable one, publint and attw on each.
pack_dir="$(mktemp -d "${TMPDIR:-/tmp}/codex-auth-tarballs.XXXXXX")"
bash scripts/pack.sh --no-build --out "$pack_dir" --lint || status=$?
scripts/keyring-session.sh pnpm turbo run test --concurrency=1 --continue --output-logs=full || status=$?
CODEX_AUTH_TEST_REPORT_SUFFIX="-no-dbus" CODEX_AUTH_KEYRING_EXPECT=unavailable \
  env -u DBUS_SESSION_BUS_ADDRESS pnpm --filter @codex-auth/storage run test:keyring || status=$?

node scripts/test-summary.mjs "$report_dir" || status=$?
exit "$status"
