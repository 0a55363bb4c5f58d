/**
 * `codex-auth-harness scenario <name>`: runs the codex-auth CLI through a flow against a mock
 * issuer started in this process (auto-approve, access tokens short enough that `token`
 * refreshes), checking each step from the outside — exit codes, what the mock recorded, what
 * auth.json holds — the way a user would see it. `all` runs every scenario in one CODEX_HOME.
 *
 * Scenarios: `apikey`, `device`, `browser` (loopback on 1455/1457; the harness plays the
 * browser), `paste` (paste-back), `refresh`, `logout`, `interop` (the real Codex CLI reads the
 * ChatGPT login, when `--codex` names its binary).
 *
 * @since 0.1.0
 */
import { SafeText } from "@codex-auth/core"
import { MockIssuer, type RecordedRequest } from "@codex-auth/mock-server"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Cause, Context, Data, Effect, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"

export const SCENARIOS = ["apikey", "device", "browser", "paste", "refresh", "logout", "interop"] as const
type Scenario = (typeof SCENARIOS)[number]

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

interface Ctx {
  readonly cli: string
  readonly codex: string | undefined
  readonly issuer: string
  readonly ca: string | undefined
  readonly codexHome: string
  readonly env: Record<string, string>
  readonly requests: () => Promise<ReadonlyArray<RecordedRequest>>
  readonly log: (line: string) => void
}

class StepFailed extends Error {}

/** Exit 1 when a scenario misbehaved (each failure was already printed with its step). */
export class ScenarioFailed extends Data.TaggedError("ScenarioFailed")<{ readonly failed: ReadonlyArray<string> }> {
  get userMessage() {
    return `scenario(s) failed: ${this.failed.join(", ")}`
  }
  get hint() {
    return "The lines above show the command and the step that misbehaved."
  }
  readonly exitCode = 1
}

/** Spawns a program asynchronously (the mock serves from this same event loop). */
const spawnRun = (program: string, args: ReadonlyArray<string>, options: {
  readonly env: Record<string, string>
  readonly input?: string
  readonly onStderr?: (text: string, child: ReturnType<typeof spawn>) => void
  readonly timeoutMs?: number
}): Promise<Run> =>
  new Promise((done, fail) => {
    const child = spawn(program, [...args], { env: options.env, stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d
      options.onStderr?.(stderr, child)
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000)
    child.on("error", fail)
    child.on("close", (code) => {
      clearTimeout(timer)
      done({ code, stdout, stderr })
    })
    if (options.input !== undefined) child.stdin.end(options.input)
    else if (options.onStderr === undefined) child.stdin.end()
  })

/** One GET without following redirects; returns the status and `Location`. */
const get = (url: string, ca: string | undefined): Promise<{ status: number; location: string | undefined }> =>
  new Promise((done, fail) => {
    const u = new URL(url)
    const request = u.protocol === "https:" ? https.request : http.request
    const req = request(u, { method: "GET", ...(ca !== undefined ? { ca } : {}) }, (res) => {
      res.resume()
      res.on("end", () => done({ status: res.statusCode ?? 0, location: res.headers.location }))
    })
    req.on("error", fail)
    req.end()
  })

/** Plays the browser: follows the authorize URL through the auto-approving mock to the loopback callback URL. */
const followToCallback = async (authorizeUrl: string, ca: string | undefined): Promise<string> => {
  let url = authorizeUrl
  for (let hop = 0; hop < 10; hop++) {
    const { location, status } = await get(url, ca)
    if (location === undefined) throw new StepFailed(`the issuer answered ${status} without a redirect at ${new URL(url).pathname}`)
    const next = new URL(location, url).toString()
    if (/^http:\/\/(localhost|127\.0\.0\.1|\[::1\]):145[57]\/auth\/callback\?/.test(next)) return next
    url = next
  }
  throw new StepFailed("too many redirects before the loopback callback")
}

const cliRun = (ctx: Ctx, args: ReadonlyArray<string>, options: { readonly input?: string; readonly expect?: number; readonly quiet?: boolean } = {}) =>
  Effect.promise(async () => {
    ctx.log(`  $ codex-auth ${args.join(" ")}${options.input !== undefined ? "   (stdin: a secret)" : ""}`)
    const r = await spawnRun(process.execPath, [ctx.cli, ...args], { env: ctx.env, ...(options.input !== undefined ? { input: options.input } : {}) })
    if (options.quiet !== true) for (const line of `${r.stdout}${r.stderr}`.trimEnd().split("\n")) if (line.trim()) ctx.log(`    ${line}`)
    if (r.code !== (options.expect ?? 0)) throw new StepFailed(`\`codex-auth ${args.join(" ")}\` exited ${r.code}, expected ${options.expect ?? 0}`)
    return r
  })

// biome-ignore lint/suspicious/noExplicitAny: scenario checks read whatever auth.json holds, field by field
const authJson = (ctx: Ctx): Record<string, any> | undefined => {
  const path = join(ctx.codexHome, "auth.json")
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined
}

const expectChatGpt = (ctx: Ctx) =>
  Effect.flatMap(cliRun(ctx, ["login", "status", "--json"], { quiet: true }), (r) =>
    Effect.sync(() => {
      const status = JSON.parse(r.stdout)
      if (status.mode !== "chatgpt" || typeof status.account?.email !== "string") throw new StepFailed("`login status --json` does not show a ChatGPT account")
      ctx.log(`    (mode ${status.mode}, account ${status.account.email}, plan ${status.account.plan}, capabilities ${JSON.stringify(status.capabilities)})`)
    }))

/** Runs a browser-style login whose URL the CLI prints on stderr; `paste` feeds the callback URL back on stdin. */
const urlLogin = (ctx: Ctx, mode: "browser" | "paste") =>
  Effect.promise(async () => {
    const args = ["login", mode === "paste" ? "--paste" : "--no-browser"]
    ctx.log(`  $ codex-auth ${args.join(" ")}`)
    let handled = false
    let failure: unknown
    const r = await spawnRun(process.execPath, [ctx.cli, ...args], {
      env: ctx.env,
      timeoutMs: 60_000,
      onStderr: (text, child) => {
        const m = /(https?:\/\/\S+\/oauth\/authorize\?\S+)/.exec(text)
        if (handled || m === null || !/Waiting for the sign-in/.test(text)) return
        handled = true
        followToCallback(m[1]!, ctx.ca)
          .then(async (callback) => {
            ctx.log(mode === "paste" ? "    (harness: signed in on the mock page; pasting the redirect URL)" : "    (harness: signed in on the mock page; the browser lands on the loopback callback)")
            if (mode === "paste") child.stdin?.end(`${callback}\n`)
            else await get(callback.replace("//localhost:", "//127.0.0.1:"), undefined)
          })
          .catch((e) => {
            failure = e
            child.kill("SIGTERM")
          })
      }
    })
    for (const line of r.stderr.trimEnd().split("\n")) if (line.trim() && !line.includes("/oauth/authorize?")) ctx.log(`    ${line}`)
    if (failure !== undefined) throw failure
    if (r.code !== 0) throw new StepFailed(`\`codex-auth ${args.join(" ")}\` exited ${r.code}`)
  })

const countKind = (ctx: Ctx, kind: RecordedRequest["kind"]) =>
  Effect.promise(async () => (await ctx.requests()).filter((r) => r.kind === kind).length)

const scenarios: Record<Scenario, (ctx: Ctx) => Effect.Effect<void>> = {
  apikey: (ctx) =>
    Effect.gen(function*() {
      yield* cliRun(ctx, ["login", "--with-api-key"], { input: "sk-harness-0123456789abcdef\n" })
      const status = JSON.parse((yield* cliRun(ctx, ["login", "status", "--json"], { quiet: true })).stdout)
      if (status.mode !== "apikey" || status.capabilities?.usage_billing !== true) throw new StepFailed("status does not show the API key")
      ctx.log(`    (mode ${status.mode}, key ${status.api_key.masked}, capabilities ${JSON.stringify(status.capabilities)})`)
      const token = (yield* Effect.promise(() => spawnRun(process.execPath, [ctx.cli, "token"], { env: ctx.env }))).stdout.trim()
      if (token !== "sk-harness-0123456789abcdef") throw new StepFailed("`token` did not print the stored key")
      ctx.log("  (token printed the key; not shown)")
      yield* cliRun(ctx, ["logout", "--local-only"])
    }),
  device: (ctx) => Effect.andThen(cliRun(ctx, ["login", "--device-auth"]), expectChatGpt(ctx)),
  browser: (ctx) => Effect.andThen(urlLogin(ctx, "browser"), expectChatGpt(ctx)),
  paste: (ctx) => Effect.andThen(urlLogin(ctx, "paste"), expectChatGpt(ctx)),
  refresh: (ctx) =>
    Effect.gen(function*() {
      if (authJson(ctx)?.tokens === undefined) yield* cliRun(ctx, ["login", "--device-auth"])
      const before = authJson(ctx)?.tokens?.refresh_token
      const refreshes = yield* countKind(ctx, "refresh_token")
      ctx.log("  $ codex-auth token   (the mock's access tokens expire within the 5-minute window)")
      const r = yield* Effect.promise(() => spawnRun(process.execPath, [ctx.cli, "token"], { env: ctx.env }))
      if (r.code !== 0 || r.stdout.trim().length === 0) throw new StepFailed(`\`codex-auth token\` exited ${r.code}: ${r.stderr.trim()}`)
      const after = authJson(ctx)?.tokens?.refresh_token
      const sent = (yield* countKind(ctx, "refresh_token")) - refreshes
      ctx.log(`    (printed an access token, not shown; ${sent} refresh request(s) reached the issuer; refresh token rotated: ${before !== after})`)
      if (sent !== 1 || before === after) throw new StepFailed("expected exactly one refresh and a rotated refresh token in auth.json")
    }),
  logout: (ctx) =>
    Effect.gen(function*() {
      if (authJson(ctx)?.tokens === undefined) yield* cliRun(ctx, ["login", "--device-auth"])
      const revokes = yield* countKind(ctx, "revoke")
      yield* cliRun(ctx, ["logout"])
      if ((yield* countKind(ctx, "revoke")) - revokes !== 1) throw new StepFailed("the issuer recorded no revocation")
      if (authJson(ctx) !== undefined) throw new StepFailed("auth.json is still there")
      yield* cliRun(ctx, ["login", "status"], { expect: 1 })
    }),
  interop: (ctx) =>
    Effect.gen(function*() {
      if (ctx.codex === undefined) {
        ctx.log("  (skipped: pass --codex PATH to the real Codex CLI to check that it reads the login)")
        return
      }
      if (authJson(ctx)?.tokens === undefined) yield* cliRun(ctx, ["login", "--device-auth"])
      ctx.log("  $ codex login status   (the real Codex CLI, same CODEX_HOME)")
      const r = yield* Effect.promise(() => spawnRun(ctx.codex!, ["login", "status"], { env: ctx.env }))
      const said = `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.trim() && !l.startsWith("WARNING")).join("\n")
      for (const line of said.split("\n")) ctx.log(`    ${line}`)
      if (!said.includes("Logged in using ChatGPT")) throw new StepFailed("the real Codex CLI did not read the ChatGPT login")
    })
}

const defaultCli = (): string => {
  const here = dirname(fileURLToPath(import.meta.url))
  return resolve(here, "../../cli/dist/codex-auth.mjs")
}

export const scenario = Command.make(
  "scenario",
  {
    name: Argument.Literals("name", [...SCENARIOS, "all"]).pipe(Argument.withDescription(`One of ${SCENARIOS.join(", ")}, or all`)),
    cli: Flag.String("cli").pipe(Flag.withDescription("Path to codex-auth.mjs (default: the built apps/cli bundle next to this harness)"), Flag.optional),
    codex: Flag.String("codex").pipe(Flag.withDescription("Path to the real Codex CLI, for the interop scenario"), Flag.optional),
    tls: Flag.Boolean("tls").pipe(Flag.withDescription("Serve the mock over HTTPS with a fresh private CA (passed to codex-auth as CODEX_CA_CERTIFICATE)"), Flag.withDefault(false)),
    keep: Flag.Boolean("keep").pipe(Flag.withDescription("Keep the scenario's temporary directory (CODEX_HOME, CA) afterwards, to inspect it"), Flag.withDefault(false))
  },
  Effect.fn("harness.scenario")(function*({ cli, codex, keep, name, tls }) {
    const cliPath = Option.getOrElse(cli, defaultCli)
    if (!existsSync(cliPath)) return yield* Effect.die(new Error(`${cliPath} does not exist: build the CLI first (pnpm turbo run build)`))
    const work = mkdtempSync(join(tmpdir(), "codex-auth-scenario-"))
    const failed = yield* Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(MockIssuer.layer({
        tls: tls ? { dir: join(work, "tls") } : false,
        autoApprove: true,
        config: { tokens: { accessTokenTtlSeconds: 240, reuseGraceMs: 0 }, device: { intervalSeconds: 1 } }
      }))
      const issuer = Context.get(context, MockIssuer)
      const codexHome = join(work, "codex-home")
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(process.env)) {
        if (v !== undefined && !["CODEX_API_KEY", "CODEX_ACCESS_TOKEN", "OPENAI_API_KEY", "CODEX_HOME", "SSL_CERT_FILE", "CODEX_CA_CERTIFICATE"].includes(k)) env[k] = v
      }
      Object.assign(env, { CODEX_HOME: codexHome, CODEX_AUTH_ISSUER: issuer.url, NO_PROXY: "127.0.0.1,localhost,::1" })
      if (issuer.caPath !== undefined) env["CODEX_CA_CERTIFICATE"] = issuer.caPath
      const ctx: Ctx = {
        cli: cliPath,
        codex: Option.getOrUndefined(codex),
        issuer: issuer.url,
        ca: issuer.caPem,
        codexHome,
        env,
        requests: () => Effect.runPromise(issuer.requests),
        log: (line) => process.stdout.write(`${SafeText.escapeLines(line)}\n`)
      }
      ctx.log(`Mock issuer ${issuer.url}${issuer.caPath ? ` (HTTPS, CA ${issuer.caPath})` : ""}; CODEX_HOME ${codexHome}`)
      const names: ReadonlyArray<Scenario> = name === "all" ? SCENARIOS : [name as Scenario]
      const failures: Array<string> = []
      for (const n of names) {
        ctx.log(`\n== ${n}`)
        const exit = yield* Effect.exit(scenarios[n](ctx))
        if (exit._tag === "Success") ctx.log(`  ok: ${n}`)
        else {
          const e = Cause.squash(exit.cause)
          const message = e instanceof Error ? e.message : String(e)
          failures.push(n)
          ctx.log(`  FAILED: ${n}: ${message}`)
        }
      }
      ctx.log(failures.length === 0 ? `\nAll ${names.length} scenario(s) passed.` : `\n${failures.length} of ${names.length} scenario(s) failed: ${failures.join(", ")}`)
      return failures
    })).pipe(Effect.ensuring(Effect.sync(() => {
      if (keep) process.stdout.write(`Kept ${SafeText.escapeLines(work)}\n`)
      else rmSync(work, { recursive: true, force: true })
    })))
    if (failed.length > 0) return yield* new ScenarioFailed({ failed })
  })
).pipe(
  Command.withDescription("Run the codex-auth CLI through a sign-in flow against an in-process mock issuer and check every step; exit 1 if any step misbehaves"),
  Command.withExamples([
    { command: "codex-auth-harness scenario all --tls", description: "Every flow, over HTTPS with a private CA" },
    { command: "codex-auth-harness scenario device", description: "Device-code login, then status" }
  ])
)
