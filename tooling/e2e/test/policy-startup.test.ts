/**
 * Policy enforcement at startup, on the built CLI (apps/cli/dist/codex-auth.mjs): stored
 * credentials that break managed configuration are logged out and the process exits with the
 * policy exit code (4), naming the rule and the file; compliant credentials are kept; a malformed
 * or invalid policy file stops the CLI with the configuration exit code (8), naming file and line.
 *
 * The managed file is pointed at with CODEX_MANAGED_CONFIG_PATH (honoured because this machine has
 * no /etc/codex/managed_config.toml); CODEX_REQUIREMENTS_PATH points at a file that does not exist
 * so a real /etc/codex/requirements.toml cannot interfere.
 */
import { describe, expect, it } from "vitest"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runCli } from "../src/Cli.ts"

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url")
const jwt = (claims: Record<string, unknown>): string => `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.c2ln`

const idToken = (accountId: string): string =>
  jwt({
    email: "dev@example.com",
    exp: Math.floor(Date.now() / 1000) + 3600,
    "https://api.openai.com/auth": { chatgpt_plan_type: "team", chatgpt_account_id: accountId, chatgpt_user_id: "user-1" }
  })

/** auth.json as the Codex CLI writes it after a ChatGPT login. */
const chatgptAuthJson = (accountId: string): string =>
  JSON.stringify(
    {
      auth_mode: "chatgpt",
      OPENAI_API_KEY: null,
      tokens: {
        id_token: idToken(accountId),
        access_token: jwt({ exp: Math.floor(Date.now() / 1000) + 3600, "https://api.openai.com/auth": { chatgpt_account_id: accountId } }),
        refresh_token: "rt-e2e-policy",
        account_id: accountId
      },
      last_refresh: new Date().toISOString()
    },
    null,
    2
  )

const apiKeyAuthJson = JSON.stringify({ auth_mode: "apikey", OPENAI_API_KEY: "sk-e2e-policy-123456" }, null, 2)

interface Setup {
  readonly codexHome: string
  readonly authJson: string
  readonly managed: string
  readonly env: Record<string, string>
}

const setup = (options: { readonly auth?: string; readonly managed?: string; readonly user?: string }): Setup => {
  const root = mkdtempSync(join(tmpdir(), "codex-auth-e2e-policy-"))
  const codexHome = join(root, "codex-home")
  mkdirSync(codexHome, { mode: 0o700 })
  const authJson = join(codexHome, "auth.json")
  if (options.auth !== undefined) writeFileSync(authJson, options.auth, { mode: 0o600 })
  if (options.user !== undefined) writeFileSync(join(codexHome, "config.toml"), options.user)
  const managed = join(root, "managed_config.toml")
  if (options.managed !== undefined) writeFileSync(managed, options.managed)
  return {
    codexHome,
    authJson,
    managed,
    env: {
      CODEX_HOME: codexHome,
      CODEX_MANAGED_CONFIG_PATH: managed,
      CODEX_REQUIREMENTS_PATH: join(root, "requirements.toml")
    }
  }
}

describe("policy at startup (built CLI)", () => {
  it("a managed forced_chatgpt_workspace_id that does not match the stored ChatGPT login logs it out and exits 4", async () => {
    const s = setup({
      auth: chatgptAuthJson("ws-personal"),
      managed: `# installed by IT\nforced_chatgpt_workspace_id = "ws-corp"\n`
    })
    const r = await runCli(["login", "status"], { env: s.env })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain("forced_chatgpt_workspace_id")
    expect(r.stderr).toContain(s.managed)
    expect(r.stderr).toContain("ws-personal")
    expect(r.stderr).toContain("logged out")
    expect(existsSync(s.authJson)).toBe(false)
    // no token material in what was printed
    expect(r.stderr + r.stdout).not.toContain("rt-e2e-policy")
    // the next run sees no credentials at all: "not logged in", exit 1
    const again = await runCli(["login", "status"], { env: s.env })
    expect(again.code).toBe(1)
  })

  it("a stored ChatGPT login from an allowed workspace (list form) is kept", async () => {
    const s = setup({
      auth: chatgptAuthJson("ws-corp"),
      managed: `forced_login_method = "chatgpt"\nforced_chatgpt_workspace_id = ["ws-other", "ws-corp"]\n`
    })
    const before = readFileSync(s.authJson, "utf8")
    const r = await runCli(["login", "status"], { env: s.env })
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(readFileSync(s.authJson, "utf8")).toBe(before)
  })

  it("a stored API key under managed forced_login_method = \"chatgpt\" is logged out, even if the user's config says api", async () => {
    const s = setup({
      auth: apiKeyAuthJson,
      managed: `forced_login_method = "chatgpt"\n`,
      user: `model = "gpt-5"\nforced_login_method = "api"\n`
    })
    const r = await runCli(["login", "status", "--json"], { env: s.env })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain("forced_login_method")
    expect(r.stderr).toContain(s.managed)
    expect(r.stderr).not.toContain("sk-e2e-policy")
    expect(existsSync(s.authJson)).toBe(false)
  })

  it("a malformed managed file stops the CLI with exit 8, naming the file and line, and touches nothing", async () => {
    const s = setup({ auth: apiKeyAuthJson, managed: `forced_login_method = "chatgpt"\nforced_chatgpt_workspace_id = [\n  "a"\n  "b"\n]\n` })
    const r = await runCli(["login", "status"], { env: s.env })
    expect(r.code).toBe(8)
    expect(r.stderr).toContain(`${s.managed}:4`)
    expect(existsSync(s.authJson)).toBe(true)
  })

  it("an invalid value (forced_login_method = \"sso\") in config.toml is exit 8 naming file, line and key", async () => {
    const s = setup({ auth: apiKeyAuthJson, user: `model = "gpt-5"\n\nforced_login_method = "sso"\n` })
    const r = await runCli(["login", "status"], { env: s.env })
    expect(r.code).toBe(8)
    expect(r.stderr).toContain(`${join(s.codexHome, "config.toml")}:3`)
    expect(r.stderr).toContain("forced_login_method")
    expect(r.stderr).toContain("\"sso\"")
    expect(existsSync(s.authJson)).toBe(true)
  })
})
