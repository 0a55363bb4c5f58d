/**
 * The CLI as a user gets it: `scripts/pack.sh` packs every publishable package (pnpm resolves
 * `workspace:*` and `catalog:`), and the `codex-auth` tarball is installed alone with plain npm
 * (`npm i -g --prefix`) from an empty project outside the repository. The installed program must
 * run with nothing but its declared dependencies, which npm fetches from the registry
 * (`@napi-rs/keyring`, `koffi`): this test needs the npm registry. Needs `pnpm build` first.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { repoRoot, runProgram } from "../src/Cli.ts"

/** The npm that comes with this Node (beside its executable), else the one on PATH. */
const npm = ((): string => {
  const beside = join(dirname(realpathSync(process.execPath)), "npm")
  return existsSync(beside) ? beside : "npm"
})()

/** What npm needs from this environment to reach the registry: CA bundles and proxies (not pnpm's npm_config_*). */
const networkEnv = (): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|HTTPS?_PROXY|NO_PROXY)$/i.test(k)))

const walk = (dir: string): Array<{ readonly path: string; readonly size: number }> =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath, e.name)
      return { path: relative(dir, path), size: statSync(path).size }
    })

let root = ""
let tarballs = ""
const cliTarball = () => join(tarballs, "codex-auth-0.1.0.tgz")

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "codex-auth-packaging-"))
  tarballs = join(root, "tarballs")
  const packed = await runProgram("bash", [join(repoRoot, "scripts/pack.sh"), "--no-build", "--out", tarballs], { timeoutMs: 240_000 })
  expect(packed.code, `${packed.stdout}\n${packed.stderr}`).toBe(0)
}, 300_000)

afterAll(() => {
  if (root !== "") rmSync(root, { recursive: true, force: true })
})

describe("packaging", () => {
  it("packs every publishable package", () => {
    expect(readdirSync(tarballs).sort()).toEqual([
      "codex-auth-0.1.0.tgz",
      "codex-auth-core-0.1.0.tgz",
      "codex-auth-device-login-worker-0.1.0.tgz",
      "codex-auth-harness-0.1.0.tgz",
      "codex-auth-mock-server-0.1.0.tgz",
      "codex-auth-oauth-0.1.0.tgz",
      "codex-auth-policy-0.1.0.tgz",
      "codex-auth-storage-0.1.0.tgz",
      "codex-auth-tls-0.1.0.tgz"
    ])
  })

  it("the CLI tarball: the bundle and its metadata, small, no big source maps, no tests", () => {
    const unpacked = join(root, "unpacked-cli")
    mkdirSync(unpacked)
    execFileSync("tar", ["-xzf", cliTarball(), "-C", unpacked])
    const files = walk(join(unpacked, "package"))
    const total = files.reduce((n, f) => n + f.size, 0)
    console.log(`codex-auth tarball: ${(statSync(cliTarball()).size / 1024).toFixed(0)} KB packed, ${(total / 1024).toFixed(0)} KB unpacked, ${files.length} files`)
    expect(total).toBeLessThan(5 * 1024 * 1024)
    expect(files.filter((f) => f.path.endsWith(".map") && f.size > 1024 * 1024)).toEqual([])
    expect(files.filter((f) => /(^|\/)test\//.test(f.path) || /\.test\.ts$/.test(f.path))).toEqual([])
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(["dist/codex-auth.mjs", "package.json", "README.md", "LICENSE"]))
    const manifest = JSON.parse(readFileSync(join(unpacked, "package/package.json"), "utf8")) as Record<string, unknown>
    expect(manifest["bin"]).toEqual({ "codex-auth": "./dist/codex-auth.mjs" })
    expect(Object.keys(manifest["dependencies"] as object).sort()).toEqual(["@napi-rs/keyring", "koffi"])
    expect(manifest["license"]).toBe("MIT")
    expect(manifest["engines"]).toEqual({ node: ">=22.19" })
    expect(JSON.stringify(manifest)).not.toMatch(/workspace:|catalog:/)
  })

  it("installs alone with npm i -g --prefix and runs from outside the repository", async () => {
    const project = join(root, "project")
    const prefix = join(root, "prefix")
    const codexHome = join(root, "codex-home")
    mkdirSync(project)
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "empty-project", version: "1.0.0", private: true }))
    const started = performance.now()
    const install = await runProgram(npm, ["i", "-g", cliTarball(), "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: project,
      env: { ...networkEnv(), npm_config_cache: join(root, "npm-cache"), npm_config_update_notifier: "false" },
      timeoutMs: 300_000
    })
    expect(install.code, `${install.stdout}\n${install.stderr}`).toBe(0)
    const installed = join(prefix, "lib/node_modules/codex-auth")
    const size = execFileSync("du", ["-sk", prefix], { encoding: "utf8" }).split("\t")[0]
    console.log(`npm i -g codex-auth: ${((performance.now() - started) / 1000).toFixed(1)} s, ${size} KB installed (${npm})`)

    // Only the declared runtime dependencies came along: nothing bundled was installed again.
    const deps = readdirSync(join(installed, "node_modules"))
    expect(deps).toEqual(expect.arrayContaining(["@napi-rs", "koffi"]))
    expect(deps).not.toContain("effect")
    expect(deps).not.toContain("@codex-auth")
    const bin = join(prefix, "bin/codex-auth")
    expect(realpathSync(bin).startsWith(realpathSync(repoRoot))).toBe(false)

    const run = (args: ReadonlyArray<string>, input?: string) =>
      runProgram(bin, args, { cwd: project, env: { CODEX_HOME: codexHome }, timeoutMs: 30_000, ...(input === undefined ? {} : { input }) })

    const version = await run(["--version"])
    expect(version.code, version.stderr).toBe(0)
    expect(version.stdout).toContain("codex-auth v0.1.0")

    const before = await run(["login", "status"])
    expect(before.code, before.stderr).toBe(1)
    expect(before.stdout).toContain("Not logged in")

    const login = await run(["login", "--with-api-key"], "sk-test-packaging-0123456789abcdef")
    expect(login.code, login.stderr).toBe(0)

    const after = await run(["login", "status"])
    expect(after.code, after.stderr).toBe(0)
    expect(after.stdout).toContain("API key configured")
    expect(after.stdout).not.toContain("sk-test-packaging-0123456789abcdef")
    expect(JSON.parse(readFileSync(join(codexHome, "auth.json"), "utf8"))).toMatchObject({
      auth_mode: "apikey",
      OPENAI_API_KEY: "sk-test-packaging-0123456789abcdef"
    })
  }, 360_000)
})
