# Sourced by the project's scripts: puts Node >= 22.19 and pnpm on PATH.
# Where the system Node is older, Node 24 and pnpm come from the npm registry into .tooling/ (git-ignored).
CODEX_AUTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CODEX_AUTH_ROOT
_tooling="$CODEX_AUTH_ROOT/.tooling"
_pnpm_version="10.34.9"

_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null
}

if ! _node_ok; then
  if [ ! -x "$_tooling/node_modules/.bin/node" ]; then
    echo "codex-auth: system Node $(node --version 2>/dev/null || echo none) is older than 22.19; fetching node@24 from the npm registry into .tooling/" >&2
    mkdir -p "$_tooling"
    npm install --prefix "$_tooling" --no-save --no-audit --no-fund --loglevel=error node@24 >&2
  fi
  export PATH="$_tooling/node_modules/.bin:$PATH"
fi
if ! _node_ok; then
  echo "codex-auth: could not provide Node >= 22.19 (have $(node --version 2>/dev/null))" >&2
  return 1 2>/dev/null || exit 1
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$_pnpm_version" ]; then
  if [ ! -x "$_tooling/pnpm/node_modules/.bin/pnpm" ]; then
    mkdir -p "$_tooling/pnpm"
    npm install --prefix "$_tooling/pnpm" --no-save --no-audit --no-fund --loglevel=error "pnpm@$_pnpm_version" >&2
  fi
  export PATH="$_tooling/pnpm/node_modules/.bin:$PATH"
fi
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$_tooling/compile-cache}"
export TURBO_TELEMETRY_DISABLED=1
export DO_NOT_TRACK=1
unset _tooling _pnpm_version
