// The main job (README command 1): the harness starts the embedded mock issuer over HTTPS with a
// private CA generated now (auto-approve), then walks the built codex-auth CLI through every
// flow in a throwaway CODEX_HOME — API key, device code, browser (loopback), paste-back,
// refresh, logout with revocation — and has the real Codex CLI read the result.
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const codex = join(root, "tooling/e2e/node_modules/.bin/codex")
const args = [join(root, "apps/harness/dist/codex-auth-harness.mjs"), "scenario", "all", "--tls", "--cli", join(root, "apps/cli/dist/codex-auth.mjs")]
if (existsSync(codex)) args.push("--codex", codex)
const r = spawnSync(process.execPath, args, { stdio: "inherit" })
process.exit(r.status ?? 1)
