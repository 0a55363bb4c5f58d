import * as esbuild from "esbuild"
import { readFileSync } from "node:fs"
import { bundle } from "../../tooling/build/bundle.mjs"

// The lean payload exists to run without the effect runtime: the build fails if any of these
// modules ends up in it (an import of `Effect`, `Layer`, `Context`, `Schema` or `Config` would).
const leanForbidden = [
  /node_modules\/effect\/dist\/(internal\/effect|Effect|Layer|Schema|SchemaAST|Config|ConfigProvider)\.js$/
]

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"))

// The entry dispatches; `lean` (login status, token in the healthy case, no effect runtime),
// `fast` (login status, token: the effect programs) and `full` (everything, effect/cli) are
// embedded payloads, each parsed only when it runs (see src/Payloads.ts).
await bundle(esbuild, {
  entry: "src/main.ts",
  outfile: "dist/codex-auth.mjs",
  define: { __CODEX_AUTH_VERSION__: JSON.stringify(version) },
  payloads: { lean: { entry: "src/Lean.ts", forbid: leanForbidden }, fast: "src/Fast.ts", full: { entry: "src/Cli.ts", compress: true } }
})
