/**
 * The loopback request router: only GET on the exact path with a loopback Host and this login's
 * state can end the flow; the rest is answered and ignored.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import * as Callback from "../src/Callback.ts"

const state = Redacted.make("s-123")
const options = { port: 1455, state }
const get = (url: string, host = "localhost:1455", method = "GET") => Callback.route({ method, url, host }, options)

describe("Callback.route", () => {
  it("accepts the code with the right state on every loopback Host spelling", () => {
    for (const host of ["localhost:1455", "127.0.0.1:1455", "[::1]:1455", "LOCALHOST:1455"]) {
      const r = get("/auth/callback?code=c0de&state=s-123", host)
      assert.strictEqual(r._tag, "Code", host)
      if (r._tag === "Code") assert.strictEqual(Redacted.value(r.code), "c0de")
    }
  })

  it("answers a wrong state 400 and keeps waiting", () => {
    const r = get("/auth/callback?code=c0de&state=nope")
    assert.strictEqual(r._tag, "Ignore")
    if (r._tag === "Ignore") {
      assert.strictEqual(r.page.status, 400)
      assert.strictEqual(r.reason, "state")
      assert.notInclude(r.page.html, "c0de")
    }
  })

  it("answers stray paths 404 (including Codex's /cancel), other methods 405, foreign Hosts 400", () => {
    const stray = get("/cancel")
    assert.strictEqual(stray._tag === "Ignore" && stray.page.status, 404)
    const favicon = get("/favicon.ico")
    assert.strictEqual(favicon._tag === "Ignore" && favicon.page.status, 404)
    const prefix = get("/auth/callback/extra?code=c0de&state=s-123")
    assert.strictEqual(prefix._tag === "Ignore" && prefix.page.status, 404)
    const post = get("/auth/callback?code=c0de&state=s-123", "localhost:1455", "POST")
    assert.strictEqual(post._tag === "Ignore" && post.page.status, 405)
    const rebinding = get("/auth/callback?code=c0de&state=s-123", "evil.example:1455")
    assert.strictEqual(rebinding._tag === "Ignore" && rebinding.reason, "host")
    const otherPort = get("/auth/callback?code=c0de&state=s-123", "localhost:1457")
    assert.strictEqual(otherPort._tag === "Ignore" && otherPort.reason, "host")
    const noHost = Callback.route({ method: "GET", url: "/auth/callback?code=c0de&state=s-123", host: undefined }, options)
    assert.strictEqual(noHost._tag, "Ignore")
  })

  it("turns the issuer's error (with our state) into LoginFailed; missing_codex_entitlement has its own message", () => {
    const denied = get("/auth/callback?error=access_denied&state=s-123")
    assert.strictEqual(denied._tag === "Denied" && denied.failure.code, "access_denied")
    const entitlement = get("/auth/callback?error=access_denied&error_description=missing_codex_entitlement%3A+no&state=s-123")
    assert.strictEqual(entitlement._tag, "Denied")
    if (entitlement._tag === "Denied") {
      assert.strictEqual(entitlement.failure.code, "missing_codex_entitlement")
      assert.strictEqual(entitlement.failure.userMessage, "Sign-in failed: this ChatGPT account or workspace does not have access to Codex.")
      assert.include(entitlement.failure.hint ?? "", "workspace admin")
    }
    const direct = get("/auth/callback?error=missing_codex_entitlement&state=s-123")
    assert.strictEqual(direct._tag === "Denied" && direct.failure.code, "missing_codex_entitlement")
    const other = get("/auth/callback?error=server_error&error_description=%1b%5B31mboom&state=s-123")
    assert.strictEqual(other._tag, "Denied")
    if (other._tag === "Denied") {
      assert.strictEqual(other.failure.code, "oauth_error")
      assert.notInclude(other.failure.userMessage, "\u001b")
    }
  })
})
