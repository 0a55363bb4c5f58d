import * as esbuild from "esbuild"
import { readFileSync } from "node:fs"
import { bundle } from "../../tooling/build/bundle.mjs"

const { version } = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"))

// The entry dispatches; `fast` (login status, token) and `full` (everything, effect/cli) are
// embedded payloads, each parsed only when it runs (see src/Payloads.ts).
await bundle(esbuild, {
  entry: "src/main.ts",
  outfile: "dist/codex-auth.mjs",
  define: { __CODEX_AUTH_VERSION__: JSON.stringify(version) },
  payloads: { fast: "src/Fast.ts", full: { entry: "src/Cli.ts", compress: true } }
})
