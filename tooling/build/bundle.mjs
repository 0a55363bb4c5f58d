// Shared esbuild settings for the apps: one self-contained ESM file per app, with a node shebang,
// Node's compile cache enabled before anything else loads, and native addons left external.
import { chmodSync, mkdirSync } from "node:fs"
import { dirname } from "node:path"

const banner = [
  "#!/usr/bin/env node",
  "import { createRequire as __codexAuthCreateRequire } from 'node:module';",
  "import __codexAuthModule from 'node:module';",
  "try { __codexAuthModule.enableCompileCache?.(); } catch {}",
  "const require = __codexAuthCreateRequire(import.meta.url);"
].join("\n")

/**
 * @param {typeof import("esbuild")} esbuild
 * @param {{ entry: string, outfile: string, external?: string[] }} options
 */
export async function bundle(esbuild, options) {
  mkdirSync(dirname(options.outfile), { recursive: true })
  const result = await esbuild.build({
    entryPoints: [options.entry],
    outfile: options.outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    minify: true,
    keepNames: false,
    sourcemap: "linked",
    legalComments: "none",
    external: ["@napi-rs/keyring", ...(options.external ?? [])],
    banner: { js: banner },
    metafile: true,
    logLevel: "warning"
  })
  chmodSync(options.outfile, 0o755)
  return result
}
