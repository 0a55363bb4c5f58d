/**
 * Bundles a harness script (e.g. `writer.ts`) with esbuild into one file in a temp directory, so
 * each of the hundreds of processes a harness starts loads in ~50 ms instead of ~200 ms (Node's
 * type stripping of the workspace sources plus Effect's module graph). esbuild comes from the CLI's
 * build dependencies (apps/cli), the same one `tooling/build/bundle.mjs` uses.
 */
import { mkdtempSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import { repoRoot } from "../Cli.ts"

interface EsbuildLike {
  readonly build: (options: Record<string, unknown>) => Promise<unknown>
}

const cache = new Map<string, Promise<string>>()

/** The path of a bundled copy of `entry` (an absolute .ts path); built once per process. */
export const bundleScript = (entry: string): Promise<string> => {
  const cached = cache.get(entry)
  if (cached !== undefined) return cached
  const result = (async () => {
    const require = createRequire(join(repoRoot, "apps/cli/package.json"))
    const esbuild = (await import(require.resolve("esbuild"))) as EsbuildLike
    const outfile = join(mkdtempSync(join(tmpdir(), "codex-auth-harness-")), basename(entry).replace(/\.ts$/, ".mjs"))
    await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: "node",
      conditions: ["@codex-auth/source", "module"],
      format: "esm",
      target: "node22",
      minify: true,
      external: ["@napi-rs/keyring"],
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      logLevel: "error"
    })
    return outfile
  })()
  cache.set(entry, result)
  return result
}
