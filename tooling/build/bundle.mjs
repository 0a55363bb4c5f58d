// Shared esbuild settings for the apps: one self-contained ESM file per app, with a node shebang
// and native addons left external.
//
// Two layouts:
// - plain (`payloads` not given): the whole app is one ESM bundle, with Node's compile cache
//   enabled before anything else loads.
// - with `payloads` (the CLI): the entry is a tiny ESM dispatcher, and each payload (a program
//   such as the CLI's fast path or its full command tree) is a separate CommonJS bundle, wrapped
//   in a function, embedded after it as a comment. V8 only skims comments, so a run pays for
//   parsing the payload it executes and nothing else; the entry compiles that payload with
//   `vm.Script` and a V8 code cache of its own (see apps/cli/src/Payloads.ts). The table of
//   payloads (byte offset, length, hash, encoding) is written into the entry in place of
//   `__CODEX_AUTH_PAYLOADS__`.
import { createHash } from "node:crypto"
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { basename, dirname, join } from "node:path"
import { brotliCompressSync, constants as zlib } from "node:zlib"

const plainBanner = [
  "#!/usr/bin/env node",
  "import { createRequire as __codexAuthCreateRequire } from 'node:module';",
  "import __codexAuthModule from 'node:module';",
  "try { __codexAuthModule.enableCompileCache?.(); } catch {}",
  "const require = __codexAuthCreateRequire(import.meta.url);",
  // Effect 4 needs Node >= 22.19: a plain message and exit 9 (ExitCode.Runtime) instead of a crash.
  "{ const [a = 0, b = 0] = process.versions.node.split('.').map(Number); if (a < 22 || (a === 22 && b < 19)) { process.stderr.write('error: this program needs Node.js 22.19 or newer; this is ' + process.version + '.\\nhint: Install Node 24 from https://nodejs.org or with your version manager (nvm install 24), then run it again (in a clone of the repository, `source scripts/env.sh` fetches it).\\n'); process.exit(9) } }"
].join("\n")

const builtins = new Set(builtinModules.flatMap((m) => (m.startsWith("node:") ? [m] : [m, `node:${m}`])))

/**
 * esbuild places every builtin a bundle uses (tls, zlib, crypto, child_process, …) where the
 * importing module is initialised, or, in ESM output, at the very top of the file. This plugin
 * routes builtins through tiny CommonJS shims whose exports are getters (and setters): a builtin
 * is loaded the first time one of its exports is used. The export names are read from this Node
 * at build time. A builtin that is itself a function or class (events, stream, assert) is
 * extended or called on import, so it is loaded with its importer.
 */
const lazyBuiltins = {
  name: "lazy-builtins",
  /** @param {import("esbuild").PluginBuild} build */
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) => {
      if (!builtins.has(args.path)) return undefined
      if (args.namespace === "lazy-builtin") return { path: args.path, external: true }
      return { path: args.path, namespace: "lazy-builtin" }
    })
    build.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, async (args) => {
      const id = JSON.stringify(args.path)
      const actual = (await import(args.path)).default
      if (typeof actual === "function") return { contents: `module.exports = require(${id})`, loader: "js" }
      const keys = Object.keys(actual).filter((k) => k !== "default" && k !== "__esModule")
      return {
        contents: [
          `let m; const load = () => (m ??= require(${id}));`,
          `for (const k of ${JSON.stringify(keys)}) Object.defineProperty(exports, k, {`,
          `  enumerable: true, get: () => load()[k], set: (v) => { load()[k] = v } });`
        ].join("\n"),
        loader: "js"
      }
    })
  }
}

/**
 * Marks the workspace's own TypeScript sources (`packages/NAME/src`, `apps/NAME/src`) as free of side
 * effects on import, as `"sideEffects": false` in a package.json would: a module none of whose
 * exports a payload uses (e.g. `AuthManager` for `login status`, reached through the core index)
 * is then left out instead of being evaluated at every start. None of these modules is imported
 * for its side effects (no `import "./x.ts"`); the build checks that.
 */
const workspaceSideEffectFree = {
  name: "workspace-side-effect-free",
  /** @param {import("esbuild").PluginBuild} build */
  setup(build) {
    const workspaceSource = /[\\/](packages|apps)[\\/][^\\/]+[\\/]src[\\/].*\.ts$/
    build.onResolve({ filter: /^(@codex-auth\/|\.\.?\/)/ }, async (args) => {
      if (args.pluginData?.workspaceSideEffectFree === true) return undefined
      if (args.kind === "import-statement" && args.with !== undefined && Object.keys(args.with).length > 0) return undefined
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        namespace: args.namespace,
        pluginData: { workspaceSideEffectFree: true }
      })
      if (resolved.errors.length > 0 || !workspaceSource.test(resolved.path)) return undefined
      return { ...resolved, sideEffects: false }
    })
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!workspaceSource.test(args.path)) return undefined
      const text = readFileSync(args.path, "utf8")
      const bare = /^import\s+["'][^"']+["']/m.exec(text)
      if (bare !== null) throw new Error(`${args.path}: \`${bare[0]}\` imports a module for its side effects, which the payload build would drop`)
      return { contents: text, loader: "ts" }
    })
  }
}

const common = {
  bundle: true,
  // The workspace packages' `exports` offer their TypeScript sources under this condition (their
  // `import` condition is the tsc output in dist/): the apps bundle the sources, so a build needs
  // no library build first and `workspaceSideEffectFree` sees `packages/NAME/src` paths. "module"
  // is esbuild's default, dropped when `conditions` is set.
  conditions: ["@codex-auth/source", "module"],
  platform: "node",
  target: "node22",
  minify: true,
  keepNames: false,
  legalComments: "none",
  charset: "ascii",
  metafile: true,
  logLevel: "warning"
}

/**
 * @param {typeof import("esbuild")} esbuild
 * @param {{
 *   entry: string,
 *   outfile: string,
 *   external?: string[],
 *   define?: Record<string, string>,
 *   payloads?: Record<string, string | { entry: string, compress?: boolean, forbid?: RegExp[] }>
 * }} options
 */
export async function bundle(esbuild, options) {
  mkdirSync(dirname(options.outfile), { recursive: true })
  const external = ["@napi-rs/keyring", ...(options.external ?? [])]
  if (options.payloads === undefined) {
    const result = await esbuild.build({
      ...common,
      entryPoints: [options.entry],
      outfile: options.outfile,
      format: "esm",
      sourcemap: "linked",
      external,
      define: options.define ?? {},
      banner: { js: plainBanner }
    })
    chmodSync(options.outfile, 0o755)
    return result
  }
  return bundleWithPayloads(esbuild, { ...options, payloads: options.payloads, external })
}

/**
 * Payloads are embedded as comments and located by byte offset: they must be printable ASCII
 * (esbuild's `charset: "ascii"` escapes the rest), with no character that ends a `//` line.
 */
const assertCommentSafe = (name, text) => {
  const bad = /[^\x20-\x7e\n\t]/.exec(text)
  if (bad !== null) {
    throw new Error(`payload ${name}: character U+${bad[0].charCodeAt(0).toString(16).padStart(4, "0")} at ${bad.index} cannot be embedded in a comment`)
  }
}

/** The function a payload is wrapped in: its CommonJS module scope, plus `import.meta.url`. */
const WRAPPER = ["(function (exports, require, module, __filename, __dirname, __codexAuthImportMetaUrl) {", "\n})"]

/**
 * @param {typeof import("esbuild")} esbuild
 * @param {{ entry: string, outfile: string, external: string[], define?: Record<string, string>, payloads: Record<string, string | { entry: string, compress?: boolean, forbid?: RegExp[] }> }} options
 */
async function bundleWithPayloads(esbuild, options) {
  const dir = dirname(options.outfile)
  const stem = basename(options.outfile).replace(/\.m?js$/, "")
  const payloads = []
  for (const [name, spec] of Object.entries(options.payloads)) {
    const { entry, compress = false, forbid = [] } = typeof spec === "string" ? { entry: spec } : spec
    const result = await esbuild.build({
      ...common,
      entryPoints: [entry],
      outfile: join(dir, `${stem}.${name}.js`),
      write: false,
      format: "cjs",
      // A payload runs as a vm.Script, where `import()` needs an experimental flag: an `import()`
      // left in the bundle (of an external package) becomes `require()`, which loads ESM too.
      supported: { "dynamic-import": false },
      sourcemap: "external",
      banner: { js: WRAPPER[0] },
      footer: { js: WRAPPER[1] },
      external: options.external,
      define: {
        ...options.define,
        "import.meta.url": "__codexAuthImportMetaUrl",
        "import.meta.filename": "__filename",
        "import.meta.dirname": "__dirname"
      },
      plugins: [lazyBuiltins, workspaceSideEffectFree]
    })
    // What the payload's code holds (not every file esbuild parsed on the way).
    const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined)
    const inputs = Object.entries(output?.inputs ?? {}).filter(([, i]) => i.bytesInOutput > 0).map(([path]) => path)
    for (const pattern of forbid) {
      const hit = inputs.find((i) => pattern.test(i))
      if (hit !== undefined) throw new Error(`payload ${name}: ${hit} must not be part of it (it is forbidden by ${pattern})`)
    }
    const js = result.outputFiles.find((f) => f.path.endsWith(".js"))
    const map = result.outputFiles.find((f) => f.path.endsWith(".map"))
    if (js === undefined || map === undefined) throw new Error(`payload ${name}: esbuild wrote no output`)
    const text = js.text.endsWith("\n") ? js.text.slice(0, -1) : js.text
    assertCommentSafe(name, text)
    if (!text.startsWith(WRAPPER[0]) || !text.endsWith(WRAPPER[1])) throw new Error(`payload ${name}: the wrapper function is missing`)
    writeFileSync(map.path, map.contents)
    payloads.push({ name, text, compress, hash: createHash("sha256").update(text).digest("hex").slice(0, 16), result })
  }

  // Sections follow the entry, one per payload, then a newline:
  // - `block`: `/*payload*/`, read back as a slice (no copy). Where the payload contains `*/`, it
  //   is cut between `*` and `/` into pieces, each its own comment (`/*…**/` ends after `…*`, and
  //   `/*/…*/` does not end at its first `/`), joined again when read;
  // - `brotli-base64`: one `//` line of base64 (a quarter of the size; decoded in ~4 ms).
  const sections = []
  for (const p of payloads) {
    let section
    let info
    if (p.compress) {
      const packed = brotliCompressSync(Buffer.from(p.text, "latin1"), {
        params: {
          [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY,
          [zlib.BROTLI_PARAM_LGWIN]: 24,
          [zlib.BROTLI_PARAM_SIZE_HINT]: p.text.length
        }
      }).toString("base64")
      section = `//${packed}\n`
      info = { encoding: "brotli-base64" }
    } else {
      const pieces = p.text.split("*/").map((piece, i, all) => `${i > 0 ? "/" : ""}${piece}${i < all.length - 1 ? "*" : ""}`)
      section = `${pieces.map((piece) => `/*${piece}*/`).join("")}\n`
      info = { encoding: "block", ...(pieces.length > 1 ? { pieces: pieces.map((piece) => piece.length) } : {}) }
    }
    sections.push({ name: p.name, section, info: { size: p.text.length, hash: p.hash, ...info } })
  }
  const tableFor = (start) => {
    const table = {}
    let offset = start
    for (const { name, section, info } of sections) {
      table[name] = { offset, length: section.length, ...info }
      offset += section.length
    }
    return table
  }
  // The entry holds a placeholder string as wide as the largest table could be.
  const PLACEHOLDER = `"${"@".repeat(JSON.stringify(JSON.stringify(tableFor(1e12))).length)}"`

  const entry = await esbuild.build({
    ...common,
    entryPoints: [options.entry],
    outfile: options.outfile,
    write: false,
    format: "esm",
    sourcemap: "linked",
    external: options.external,
    define: { ...options.define, __CODEX_AUTH_PAYLOADS__: PLACEHOLDER },
    banner: { js: "#!/usr/bin/env node" }
  })
  const entryOutput = Object.values(entry.metafile.outputs).find((o) => o.entryPoint !== undefined)
  if (entryOutput === undefined || entryOutput.imports.length > 0) {
    // Each `import` of a builtin in the entry costs milliseconds on every run (Node builds an ESM
    // facade that reads every export, e.g. `fs` loads its streams): use process.getBuiltinModule.
    throw new Error(`${options.entry} must not import anything at run time (found ${entryOutput?.imports.map((i) => i.path).join(", ")})`)
  }
  const entryJs = entry.outputFiles.find((f) => f.path.endsWith(".mjs") || f.path.endsWith(".js"))
  const entryMap = entry.outputFiles.find((f) => f.path.endsWith(".map"))
  if (entryJs === undefined || entryMap === undefined) throw new Error("the entry bundle has no output")
  const head = entryJs.text.endsWith("\n") ? entryJs.text : `${entryJs.text}\n`
  assertCommentSafe("entry", head)
  if (head.split(PLACEHOLDER).length !== 2) throw new Error(`${options.entry} must use __CODEX_AUTH_PAYLOADS__ exactly once`)

  const table = tableFor(head.length)
  const tableJson = JSON.stringify(table)
  const literal = JSON.stringify(tableJson.padEnd(PLACEHOLDER.length - 2 - (JSON.stringify(tableJson).length - 2 - tableJson.length), " "))
  if (literal.length !== PLACEHOLDER.length) throw new Error(`the payload table does not fit its placeholder (${literal.length} > ${PLACEHOLDER.length})`)
  const file = head.replace(PLACEHOLDER, literal) + sections.map((x) => x.section).join("")
  writeFileSync(options.outfile, file, { mode: 0o755 })
  writeFileSync(entryMap.path, entryMap.contents)
  chmodSync(options.outfile, 0o755)
  return {
    entry,
    payloads: Object.fromEntries(payloads.map((p) => [p.name, { bytes: p.text.length, hash: p.hash, encoding: table[p.name].encoding, metafile: p.result.metafile }]))
  }
}
