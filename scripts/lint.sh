#!/usr/bin/env bash
# Lint: Effect's language-service diagnostics (errors and warnings fail; "messages" are hints) on
# every package and app. Run by scripts/test.sh; `pnpm lint` from a shell.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
failed=0
for project in packages/*/tsconfig.json apps/*/tsconfig.json tooling/e2e/tsconfig.json; do
  [ -f "$project" ] || continue
  out="$(node_modules/.bin/effect-language-service diagnostics --project "$project" --format text --severity error,warning --strict 2>&1)" || {
    failed=1
    echo "lint: $project"
    echo "$out" | grep -v '^$'
  }
done
if [ "$failed" -ne 0 ]; then
  echo "error: the Effect language service reported problems (above)." >&2
  echo "hint: fix them, or silence one with a comment that says why: // @effect-diagnostics-next-line <rule>:off" >&2
  exit 1
fi
echo "lint: Effect language service clean"
