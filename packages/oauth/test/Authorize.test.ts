/**
 * The authorize URL carries exactly Codex's parameters in Codex's order, and redirects and
 * pasted values are decoded state-first.
 */
import { RefreshTransport } from "@codex-auth/core"
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import * as Authorize from "../src/Authorize.ts"

const state = Redacted.make("the-state-value")
const params: Authorize.AuthorizeParams = {
  issuer: "https://auth.example.test",
  clientId: RefreshTransport.DEFAULT_CLIENT_ID,
  redirectUri: Authorize.loopbackRedirectUri(1455),
  codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  state,
  originator: "codex_cli_rs"
}

describe("authorizeUrl", () => {
  it("has exactly the spec's parameters, in order", () => {
    const url = new URL(Authorize.authorizeUrl(params))
    assert.strictEqual(`${url.origin}${url.pathname}`, "https://auth.example.test/oauth/authorize")
    assert.deepStrictEqual([...url.searchParams.entries()], [
      ["response_type", "code"],
      ["client_id", "app_EMoamEEZ73f0CkXaXp7hrann"],
      ["redirect_uri", "http://localhost:1455/auth/callback"],
      ["scope", "openid profile email offline_access"],
      ["code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"],
      ["code_challenge_method", "S256"],
      ["id_token_add_organizations", "true"],
      ["codex_cli_simplified_flow", "true"],
      ["state", "the-state-value"],
      ["originator", "codex_cli_rs"]
    ])
    assert.include(Authorize.authorizeUrl(params), "scope=openid%20profile%20email%20offline_access")
  })

  it("adds allowed_workspace_id when policy forces workspaces", () => {
    const url = new URL(Authorize.authorizeUrl({ ...params, allowedWorkspaceId: "ws-a,ws-b" }))
    assert.strictEqual(url.searchParams.get("allowed_workspace_id"), "ws-a,ws-b")
    assert.isNull(new URL(Authorize.authorizeUrl({ ...params, allowedWorkspaceId: "" })).searchParams.get("allowed_workspace_id"))
  })
})

describe("decodeRedirect / decodePaste", () => {
  it("checks state before acting on an error", () => {
    const forged = Authorize.decodeRedirect(new URLSearchParams({ error: "access_denied", state: "other" }), state)
    assert.strictEqual(forged._tag, "StateMismatch")
    const real = Authorize.decodeRedirect(new URLSearchParams({ error: "access_denied", error_description: "missing_codex_entitlement: no Codex", state: "the-state-value" }), state)
    assert.strictEqual(real._tag, "Denied")
    if (real._tag === "Denied") {
      assert.strictEqual(real.failure.code, "missing_codex_entitlement")
      assert.include(real.failure.userMessage, "does not have access to Codex")
    }
  })

  it("accepts the full URL, the bare query, and a leading ?", () => {
    for (const pasted of [
      "http://localhost:1455/auth/callback?code=abc&scope=openid&state=the-state-value",
      "  'http://127.0.0.1:1457/auth/callback?state=the-state-value&code=abc'  ",
      "code=abc&state=the-state-value",
      "?code=abc&state=the-state-value"
    ]) {
      const out = Authorize.decodePaste(pasted, state)
      assert.strictEqual(out._tag, "Code", pasted)
      if (out._tag === "Code") assert.strictEqual(Redacted.value(out.code), "abc")
    }
  })

  it("explains unusable pastes without echoing them", () => {
    const cases: ReadonlyArray<readonly [string, Authorize.PasteProblem]> = [
      ["", "empty"],
      ["hello world", "not_a_redirect"],
      ["http://localhost:1455/other?code=abc&state=the-state-value", "wrong_path"],
      ["code=abc&state=wrong", "state_mismatch"],
      ["state=the-state-value", "missing_code"]
    ]
    for (const [pasted, problem] of cases) {
      const out = Authorize.decodePaste(pasted, state)
      assert.deepStrictEqual(out, { _tag: "Unusable", problem }, pasted)
      assert.notInclude(Authorize.describePasteProblem(problem), "the-state-value")
    }
  })
})
