#!/usr/bin/env bash
# Packs every publishable package (packages/* and apps/* that are not private) with `pnpm pack`,
# which resolves `workspace:*` and `catalog:` to versions, into dist-tarballs/ (git-ignored).
#
#   bash scripts/pack.sh [--no-build] [--out DIR] [--lint]
#
# --no-build  pack what is built already (the e2e test runs after `pnpm build`)
# --out DIR   where the tarballs go (default dist-tarballs/; emptied first)
# --lint      then publint and @arethetypeswrong/cli on every tarball (scripts/lint-packages.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
root="$(pwd)"
build=1
lint=0
out="$root/dist-tarballs"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --lint) lint=1 ;;
    --out)
      [ $# -ge 2 ] || { echo "error: --out needs a directory." >&2; echo "hint: bash scripts/pack.sh --out /tmp/tarballs" >&2; exit 2; }
      out="$(mkdir -p "$2" && cd "$2" && pwd)"; shift ;;
    *) echo "error: unknown option $1." >&2; echo "hint: bash scripts/pack.sh [--no-build] [--out DIR] [--lint]" >&2; exit 2 ;;
  esac
  shift
done

if [ "$build" -eq 1 ]; then pnpm turbo run build --output-logs=errors-only; fi
mkdir -p "$out"
rm -f "$out"/*.tgz
for dir in packages/* apps/*; do
  [ -f "$dir/package.json" ] || continue
  if [ "$(node -p "require('./$dir/package.json').private === true")" = true ]; then continue; fi
  (cd "$dir" && pnpm pack --pack-destination "$out" >/dev/null) || {
    echo "error: pnpm pack failed in $dir (above)." >&2
    echo "hint: build first (pnpm build), or run without --no-build." >&2
    exit 1
  }
done
for f in "$out"/*.tgz; do
  printf '%8s KB  %s\n' "$(( $(stat -c %s "$f") / 1024 ))" "${f#"$root"/}"
done
if [ "$lint" -eq 1 ]; then bash scripts/lint-packages.sh "$out"; fi
