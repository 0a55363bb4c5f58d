/**
 * Two-way file interop with the real Codex CLI (@openai/codex from npm): what one writes in
 * $CODEX_HOME/auth.json, the other reads — and our bytes are Codex's bytes.
 */
import { readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runCli, runCodex, tempCodexHome } from "../src/Cli.ts"

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url")
/** The real CLI refuses a CODEX_HOME that does not exist; codex-auth creates it (0700). */
const existingHome = () => {
  const home = tempCodexHome()
  mkdirSync(home, { recursive: true, mode: 0o700 })
  return home
}
const jwt = (claims: Record<string, unknown>) => `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.sig`

describe("auth.json interop with the real Codex CLI", () => {
  it("codex-auth reads what `codex login --with-api-key` wrote, byte-identical to what codex-auth writes", async () => {
    const codexHome = existingHome()
    const byCodex = await runCodex(["login", "--with-api-key"], { env: { CODEX_HOME: codexHome }, input: "sk-test-interop-abcdef12345\n" })
    expect(byCodex.code, byCodex.stderr).toBe(0)
    const codexBytes = readFileSync(join(codexHome, "auth.json"), "utf8")

    const status = await runCli(["login", "status", "--json"], { env: { CODEX_HOME: codexHome } })
    expect(status.code, status.stderr).toBe(0)
    const json = JSON.parse(status.stdout)
    expect(json.mode).toBe("apikey")
    expect(json.api_key.masked).toBe("sk-test-***12345")
    expect(json.capabilities).toEqual({ plan: false, fast_mode: false, codex_cloud: false, usage_billing: true })

    const ourHome = tempCodexHome()
    const ours = await runCli(["login", "--with-api-key"], { env: { CODEX_HOME: ourHome }, input: "sk-test-interop-abcdef12345\n" })
    expect(ours.code, ours.stderr).toBe(0)
    // Schema drift guard: our file is byte-for-byte what the real Codex CLI writes.
    expect(readFileSync(join(ourHome, "auth.json"), "utf8")).toBe(codexBytes)
    expect(statSync(join(ourHome, "auth.json")).mode & 0o777).toBe(statSync(join(codexHome, "auth.json")).mode & 0o777)
  })

  it("`codex login status` reports an API key stored by codex-auth", async () => {
    const codexHome = tempCodexHome()
    const ours = await runCli(["login", "--with-api-key"], { env: { CODEX_HOME: codexHome }, input: "sk-test-fromcodexauth-99999\n" })
    expect(ours.code, ours.stderr).toBe(0)
    const status = await runCodex(["login", "status"], { env: { CODEX_HOME: codexHome } })
    expect(status.code).toBe(0)
    expect(status.stdout + status.stderr).toContain("API key configured - sk-test-***99999")
  })

  it("`codex login status` reports a ChatGPT token set written by codex-auth's codec as \"Logged in using ChatGPT\"", async () => {
    const codexHome = tempCodexHome()
    const exp = Math.floor(Date.now() / 1000) + 3600
    const claims = {
      email: "interop@example.com",
      exp,
      "https://api.openai.com/auth": { chatgpt_plan_type: "pro", chatgpt_account_id: "ws-interop", chatgpt_user_id: "user-1" }
    }
    // Written through codex-auth's own codec (core AuthDotJson) by the CLI's file store: import it at test time.
    const { AuthDotJson } = await import("@codex-auth/core")
    const { Redacted } = await import("effect")
    const doc = AuthDotJson.fromChatGptTokens({
      idToken: Redacted.make(jwt(claims)),
      accessToken: Redacted.make(jwt({ exp, "https://api.openai.com/auth": claims["https://api.openai.com/auth"] })),
      refreshToken: Redacted.make("rt-interop"),
      now: new Date()
    })
    mkdirSync(codexHome, { recursive: true, mode: 0o700 })
    writeFileSync(join(codexHome, "auth.json"), AuthDotJson.toFileText(doc), { mode: 0o600 })

    const codex = await runCodex(["login", "status"], { env: { CODEX_HOME: codexHome } })
    expect(codex.code, codex.stderr).toBe(0)
    expect(codex.stdout + codex.stderr).toContain("Logged in using ChatGPT")

    const ours = await runCli(["login", "status", "--json"], { env: { CODEX_HOME: codexHome } })
    expect(ours.code, ours.stderr).toBe(0)
    const json = JSON.parse(ours.stdout)
    expect(json.mode).toBe("chatgpt")
    expect(json.account).toMatchObject({ email: "interop@example.com", plan: "pro", account_id: "ws-interop", user_id: "user-1" })
    expect(json.capabilities).toEqual({ plan: true, fast_mode: true, codex_cloud: true, usage_billing: false })
    expect(json.tokens.next_refresh_due).not.toBeNull()
  })

  it("Codex and codex-auth agree on \"Not logged in\" (exit 1) and on logout", async () => {
    const codexHome = existingHome()
    const codexEmpty = await runCodex(["login", "status"], { env: { CODEX_HOME: codexHome } })
    const oursEmpty = await runCli(["login", "status"], { env: { CODEX_HOME: codexHome } })
    expect(codexEmpty.code).toBe(1)
    expect(codexEmpty.stdout + codexEmpty.stderr).toContain("Not logged in")
    expect(oursEmpty.code).toBe(1)
    expect(oursEmpty.stdout).toContain("Not logged in")

    await runCodex(["login", "--with-api-key"], { env: { CODEX_HOME: codexHome }, input: "sk-test-logout-0000011111\n" })
    const out = await runCli(["logout", "--local-only"], { env: { CODEX_HOME: codexHome } })
    expect(out.code, out.stderr).toBe(0)
    const after = await runCodex(["login", "status"], { env: { CODEX_HOME: codexHome } })
    expect(after.code).toBe(1)
    expect(after.stdout + after.stderr).toContain("Not logged in")
  })
})
