import * as esbuild from "esbuild"
import { bundle } from "../../tooling/build/bundle.mjs"

await bundle(esbuild, { entry: "src/main.ts", outfile: "dist/codex-auth-device-login-worker.mjs" })
