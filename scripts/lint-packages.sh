#!/usr/bin/env bash
# Lints packed tarballs as a registry user gets them: publint on every tarball (package.json
# fields, exports, files), and @arethetypeswrong/cli on the libraries (do the types resolve for
# every entry point under NodeNext and bundler resolution; profile esm-only, since the packages are
# ESM only). The apps are programs (a `bin`, no exports or types): publint only.
#
#   bash scripts/lint-packages.sh [DIR]     (default dist-tarballs/, as written by scripts/pack.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
dir="${1:-dist-tarballs}"
shopt -s nullglob
tarballs=("$dir"/*.tgz)
if [ ${#tarballs[@]} -eq 0 ]; then
  echo "error: no tarballs in $dir." >&2
  echo "hint: bash scripts/pack.sh first (or bash scripts/pack.sh --lint)." >&2
  exit 1
fi
failed=()
for tgz in "${tarballs[@]}"; do
  name="$(basename "$tgz")"
  echo "== $name"
  node_modules/.bin/publint run --strict "$tgz" || failed+=("publint $name")
  if tar -xzOf "$tgz" package/package.json | node -e 'process.exit(JSON.parse(require("fs").readFileSync(0, "utf8")).exports ? 0 : 1)'; then
    node_modules/.bin/attw --profile esm-only --format table-flipped --no-emoji --no-color "$tgz" || failed+=("attw $name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "error: package lint failed: ${failed[*]} (above)." >&2
  echo "hint: fix the package.json or the build of those packages, then run bash scripts/pack.sh --lint again." >&2
  exit 1
fi
echo "package lint: publint and attw clean on ${#tarballs[@]} tarballs"
