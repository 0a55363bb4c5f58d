import { type AuthDotJson, AuthPolicy, Errors } from "@codex-auth/core"
import { CodexConfig, Policy, type Settings } from "@codex-auth/policy"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Redacted } from "effect"
import { apiKeyDoc, chatgptDoc, idTokenFor, memoryStore } from "./fixtures.ts"

const MANAGED = "/etc/codex/managed_config.toml"
const USER = "/home/u/.codex/config.toml"
const REQ = "/etc/codex/requirements.toml"

const managed = (values: Settings.ConfigValues): Partial<CodexConfig.Layers> => ({ managed: { path: MANAGED, values } })
const user = (values: Settings.ConfigValues): Partial<CodexConfig.Layers> => ({ user: { path: USER, values } })
const requirements = (values: Settings.RequirementValues): Partial<CodexConfig.Layers> => ({ requirements: { path: REQ, values } })

const policyOf = (...layers: ReadonlyArray<Partial<CodexConfig.Layers>>) =>
  Policy.make(CodexConfig.resolveLayers(Object.assign({ codexHome: "/home/u/.codex" }, ...layers)))

const violationOf = <A>(e: Effect.Effect<A, Errors.PolicyViolation>) => Effect.flip(e)

/** Runs `enforceAtStartup` with a memory store holding `stored`, under the given config and env. */
const enforce = (
  config: CodexConfig.CodexConfigShape,
  stored: AuthDotJson.AuthDocument | undefined,
  options: { env?: Record<string, string>; removeFails?: boolean; corrupt?: boolean } = {}
) => {
  const store = memoryStore(stored, options)
  const layer = Layer.mergeAll(
    store.layer,
    Layer.succeed(AuthPolicy.AuthPolicy, Policy.make(config)),
    ConfigProvider.layer(ConfigProvider.fromUnknown(options.env ?? {}))
  )
  return { probe: store.probe, run: Effect.provide(Effect.exit(Policy.enforceAtStartup), layer) }
}

const config = (...layers: ReadonlyArray<Partial<CodexConfig.Layers>>) =>
  CodexConfig.resolveLayers(Object.assign({ codexHome: "/home/u/.codex" }, ...layers))

describe("checkLogin: a disallowed method is refused before any flow starts", () => {
  it.effect("no policy: every method", () =>
    Effect.gen(function*() {
      const p = policyOf()
      yield* p.checkLogin("chatgpt")
      yield* p.checkLogin("api")
      yield* p.checkLogin("device")
      assert.isUndefined(p.forcedLoginMethod)
      assert.isUndefined(Policy.allowedWorkspaceParam(p))
    }))

  it.effect("forced chatgpt refuses api and names the allowed method and the file", () =>
    Effect.gen(function*() {
      const p = policyOf(managed({ forced_login_method: "chatgpt" }))
      yield* p.checkLogin("chatgpt")
      yield* p.checkLogin("device")
      const v = yield* violationOf(p.checkLogin("api"))
      assert.strictEqual(v.rule, "forced_login_method")
      assert.strictEqual(v.source, `managed: ${MANAGED}`)
      assert.isFalse(v.loggedOut)
      assert.strictEqual(v.exitCode, 4)
      assert.include(v.userMessage, "API key login is not allowed")
      assert.include(v.userMessage, "sign in with ChatGPT")
      assert.include(v.userMessage, MANAGED)
    }))

  it.effect("forced api refuses chatgpt and device, and points to --with-api-key", () =>
    Effect.gen(function*() {
      const p = policyOf(user({ forced_login_method: "api" }))
      yield* p.checkLogin("api")
      for (const m of ["chatgpt", "device"] as const) {
        const v = yield* violationOf(p.checkLogin(m))
        assert.strictEqual(v.rule, "forced_login_method")
        assert.strictEqual(v.source, `user: ${USER}`)
        assert.include(v.detail, "ChatGPT login is not allowed")
        assert.include(v.detail, "--with-api-key")
      }
    }))

  it.effect("allow_device_code_login = false refuses only device-code login", () =>
    Effect.gen(function*() {
      const p = policyOf(managed({ allow_device_code_login: false }))
      yield* p.checkLogin("chatgpt")
      yield* p.checkLogin("api")
      const v = yield* violationOf(p.checkLogin("device"))
      assert.strictEqual(v.rule, "allow_device_code_login")
      assert.strictEqual(v.source, `managed: ${MANAGED}`)
      assert.include(v.detail, "browser")
      assert.deepStrictEqual(p.deviceAuthAllowed, { value: false, source: `managed: ${MANAGED}` })
    }))

  it.effect("an empty workspace list refuses ChatGPT login (and device) but not API keys", () =>
    Effect.gen(function*() {
      const p = policyOf(managed({ forced_chatgpt_workspace_id: [] }))
      yield* p.checkLogin("api")
      for (const m of ["chatgpt", "device"] as const) {
        const v = yield* violationOf(p.checkLogin(m))
        assert.strictEqual(v.rule, "forced_chatgpt_workspace_id")
        assert.include(v.detail, "the workspace list is empty")
        assert.include(v.detail, "--with-api-key")
      }
      assert.isUndefined(Policy.allowedWorkspaceParam(p))
    }))

  it.effect("empty workspace list with forced chatgpt: nothing is allowed and the message says so", () =>
    Effect.gen(function*() {
      const p = policyOf(managed({ forced_login_method: "chatgpt", forced_chatgpt_workspace_id: [] }))
      const v = yield* violationOf(p.checkLogin("api"))
      assert.include(v.detail, "no login method is allowed")
      const v2 = yield* violationOf(p.checkLogin("chatgpt"))
      assert.notInclude(v2.detail, "--with-api-key")
    }))

  it.effect("requirements.toml allowed_login_methods narrows and becomes the forced method when single", () =>
    Effect.gen(function*() {
      const p = policyOf(requirements({ allowed_login_methods: ["api"] }))
      const v = yield* violationOf(p.checkLogin("chatgpt"))
      assert.strictEqual(v.rule, "allowed_login_methods")
      assert.strictEqual(v.source, `requirements: ${REQ}`)
      assert.deepStrictEqual(p.forcedLoginMethod, { value: "api", source: `requirements: ${REQ}` })
      const both = policyOf(requirements({ allowed_login_methods: ["api", "chatgpt"] }))
      yield* both.checkLogin("chatgpt")
      assert.isUndefined(both.forcedLoginMethod)
    }))

  it.effect("a user's forced method cannot re-enable what requirements forbid", () =>
    Effect.gen(function*() {
      const p = policyOf(user({ forced_login_method: "chatgpt" }), requirements({ allowed_login_methods: ["api"] }))
      const v1 = yield* violationOf(p.checkLogin("chatgpt"))
      assert.strictEqual(v1.rule, "allowed_login_methods")
      const v2 = yield* violationOf(p.checkLogin("api"))
      assert.strictEqual(v2.rule, "forced_login_method")
      assert.include(v2.detail, "no login method is allowed")
    }))
})

describe("allowed_workspace_id on the authorize URL", () => {
  it("a single forced workspace", () => {
    assert.strictEqual(Policy.allowedWorkspaceParam(policyOf(managed({ forced_chatgpt_workspace_id: ["ws-1"] }))), "ws-1")
  })
  it("a list is comma-joined, as Codex sends it", () => {
    assert.strictEqual(Policy.allowedWorkspaceParam(policyOf(managed({ forced_chatgpt_workspace_id: ["ws-1", "ws-2"] }))), "ws-1,ws-2")
  })
  it("config ∩ requirements", () => {
    const p = policyOf(user({ forced_chatgpt_workspace_id: ["a", "b", "c"] }), requirements({ allowed_chatgpt_workspaces: ["c", "b", "z"] }))
    assert.strictEqual(Policy.allowedWorkspaceParam(p), "b,c")
    assert.deepStrictEqual(p.forcedWorkspaceIds, { value: ["b", "c"], source: `user: ${USER} and requirements: ${REQ}` })
  })
  it.effect("disjoint config and requirements lists refuse ChatGPT login", () =>
    Effect.gen(function*() {
      const p = policyOf(user({ forced_chatgpt_workspace_id: ["a"] }), requirements({ allowed_chatgpt_workspaces: ["b"] }))
      const v = yield* violationOf(p.checkLogin("chatgpt"))
      assert.include(v.detail, "no workspace in common")
      assert.include(v.source, REQ)
      assert.isUndefined(Policy.allowedWorkspaceParam(p))
    }))
})

describe("checkCredentials: method × stored mode", () => {
  const cases: ReadonlyArray<readonly [string, Settings.LoginMethod | undefined, AuthDotJson.AuthDocument, string | undefined]> = [
    ["no policy, API key", undefined, apiKeyDoc(), undefined],
    ["no policy, ChatGPT", undefined, chatgptDoc("ws-1"), undefined],
    ["forced chatgpt, API key", "chatgpt", apiKeyDoc(), "forced_login_method"],
    ["forced chatgpt, ChatGPT", "chatgpt", chatgptDoc("ws-1"), undefined],
    ["forced api, API key", "api", apiKeyDoc(), undefined],
    ["forced api, ChatGPT", "api", chatgptDoc("ws-1"), "forced_login_method"]
  ]
  for (const [name, method, doc, rule] of cases) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const p = policyOf(method === undefined ? {} : managed({ forced_login_method: method }))
        const r = yield* Effect.result(p.checkCredentials(doc))
        if (rule === undefined) {
          assert.strictEqual(r._tag, "Success")
        } else {
          assert.strictEqual(r._tag, "Failure")
          if (r._tag === "Failure") {
            assert.strictEqual(r.failure.rule, rule)
            assert.isFalse(r.failure.loggedOut)
          }
        }
      }))
  }

  it.effect("an auth.json Codex wrote with only the key (no auth_mode) is an API-key login", () =>
    Effect.gen(function*() {
      const p = policyOf(managed({ forced_login_method: "chatgpt" }))
      const bare: AuthDotJson.AuthDocument = { ...apiKeyDoc(), authMode: undefined }
      assert.strictEqual((yield* violationOf(p.checkCredentials(bare))).rule, "forced_login_method")
    }))

  it.effect("an empty document has nothing to check", () =>
    Effect.gen(function*() {
      const p = policyOf(managed({ forced_login_method: "chatgpt", forced_chatgpt_workspace_id: [] }))
      yield* p.checkCredentials({ authMode: undefined, apiKey: undefined, tokens: undefined, lastRefresh: undefined, extra: {} })
    }))
})

describe("checkCredentials: workspaces", () => {
  it.effect("match, mismatch, list and empty list", () =>
    Effect.gen(function*() {
      const single = policyOf(managed({ forced_chatgpt_workspace_id: ["ws-1"] }))
      yield* single.checkCredentials(chatgptDoc("ws-1"))
      const mismatch = yield* violationOf(single.checkCredentials(chatgptDoc("ws-other")))
      assert.strictEqual(mismatch.rule, "forced_chatgpt_workspace_id")
      assert.strictEqual(mismatch.source, `managed: ${MANAGED}`)
      assert.include(mismatch.detail, "The ChatGPT credentials belong to workspace ws-other, but only ws-1 is allowed")

      const list = policyOf(managed({ forced_chatgpt_workspace_id: ["ws-1", "ws-2"] }))
      yield* list.checkCredentials(chatgptDoc("ws-2"))
      const notInList = yield* violationOf(list.checkCredentials(chatgptDoc("ws-3")))
      assert.include(notInList.detail, "only ws-1, ws-2 are allowed")

      const empty = policyOf(managed({ forced_chatgpt_workspace_id: [] }))
      const none = yield* violationOf(empty.checkCredentials(chatgptDoc("ws-1")))
      assert.include(none.detail, "no workspace is allowed")
      // API keys are not subject to workspace rules
      yield* empty.checkCredentials(apiKeyDoc())
    }))

  it.effect("an ID token without chatgpt_account_id, or not a JWT, cannot pass a workspace rule", () =>
    Effect.gen(function*() {
      const p = policyOf(managed({ forced_chatgpt_workspace_id: ["ws-1"] }))
      const noClaim = yield* violationOf(p.checkCredentials(chatgptDoc(null)))
      assert.include(noClaim.detail, "no chatgpt_account_id claim")
      const garbage = chatgptDoc("ws-1")
      const broken: AuthDotJson.AuthDocument = { ...garbage, tokens: { ...garbage.tokens!, idToken: Redacted.make("not-a-jwt") } }
      const notJwt = yield* violationOf(p.checkCredentials(broken))
      assert.include(notJwt.detail, "not a readable JWT")
    }))

  it.effect("the ID-token claim decides, not the stored tokens.account_id", () =>
    Effect.gen(function*() {
      const p = policyOf(managed({ forced_chatgpt_workspace_id: ["ws-1"] }))
      const doc = chatgptDoc("ws-evil")
      const spoofed: AuthDotJson.AuthDocument = { ...doc, tokens: { ...doc.tokens!, accountId: "ws-1" } }
      yield* violationOf(p.checkCredentials(spoofed))
    }))

  it.effect("requirements allow-list applies on top of the config list", () =>
    Effect.gen(function*() {
      const p = policyOf(user({ forced_chatgpt_workspace_id: ["a", "b"] }), requirements({ allowed_chatgpt_workspaces: ["b"] }))
      yield* p.checkCredentials(chatgptDoc("b"))
      const v = yield* violationOf(p.checkCredentials(chatgptDoc("a")))
      assert.strictEqual(v.rule, "allowed_chatgpt_workspaces")
      assert.strictEqual(v.source, `requirements: ${REQ}`)
    }))

  it.effect("managed workspace beats the user's", () =>
    Effect.gen(function*() {
      const p = policyOf(managed({ forced_chatgpt_workspace_id: ["corp"] }), user({ forced_chatgpt_workspace_id: ["personal"] }))
      yield* p.checkCredentials(chatgptDoc("corp"))
      const v = yield* violationOf(p.checkCredentials(chatgptDoc("personal")))
      assert.strictEqual(v.source, `managed: ${MANAGED}`)
    }))
})

describe("enforceAtStartup", () => {
  it.effect("nothing stored: succeeds and removes nothing", () =>
    Effect.gen(function*() {
      const { probe, run } = enforce(config(managed({ forced_login_method: "chatgpt" })), undefined)
      const exit = yield* run
      assert.strictEqual(exit._tag, "Success")
      assert.strictEqual(probe.removes, 0)
    }))

  it.effect("compliant credentials are kept", () =>
    Effect.gen(function*() {
      const { probe, run } = enforce(config(managed({ forced_chatgpt_workspace_id: ["ws-1"] })), chatgptDoc("ws-1"))
      assert.strictEqual((yield* run)._tag, "Success")
      assert.isTrue(Option.isSome(probe.current))
      assert.strictEqual(probe.removes, 0)
      assert.strictEqual(probe.locks, 0)
    }))

  const violating: ReadonlyArray<readonly [string, CodexConfig.CodexConfigShape, AuthDotJson.AuthDocument, string]> = [
    ["API key under forced chatgpt", config(managed({ forced_login_method: "chatgpt" })), apiKeyDoc(), "forced_login_method"],
    ["ChatGPT under forced api", config(user({ forced_login_method: "api" })), chatgptDoc("ws-1"), "forced_login_method"],
    ["ChatGPT from another workspace", config(managed({ forced_chatgpt_workspace_id: ["ws-1"] })), chatgptDoc("ws-2"), "forced_chatgpt_workspace_id"],
    ["ChatGPT when the list is empty", config(managed({ forced_chatgpt_workspace_id: [] })), chatgptDoc("ws-1"), "forced_chatgpt_workspace_id"],
    ["ChatGPT outside requirements", config(requirements({ allowed_chatgpt_workspaces: ["x"] })), chatgptDoc("ws-1"), "allowed_chatgpt_workspaces"]
  ]
  for (const [name, cfg, doc, rule] of violating) {
    it.effect(`${name}: purged under the lock and reported as logged out`, () =>
      Effect.gen(function*() {
        const { probe, run } = enforce(cfg, doc)
        const exit = yield* run
        assert.strictEqual(exit._tag, "Failure")
        const e = exit._tag === "Failure" ? exit.cause.reasons[0] : undefined
        const err = e !== undefined && "error" in e ? e.error : undefined
        assert.instanceOf(err, Errors.PolicyViolation)
        if (err instanceof Errors.PolicyViolation) {
          assert.strictEqual(err.rule, rule)
          assert.isTrue(err.loggedOut)
          assert.strictEqual(err.exitCode, 4)
          assert.include(err.userMessage, "stored credentials were logged out")
        }
        assert.strictEqual(probe.removes, 1)
        assert.strictEqual(probe.locks, 1)
        assert.isTrue(Option.isNone(probe.current))
      }))
  }

  it.effect("when the purge fails, the violation says so and loggedOut is false", () =>
    Effect.gen(function*() {
      const { run } = enforce(config(managed({ forced_login_method: "chatgpt" })), apiKeyDoc(), { removeFails: true })
      const exit = yield* run
      const err = exit._tag === "Failure" ? (exit.cause.reasons[0] as { error?: unknown }).error : undefined
      assert.instanceOf(err, Errors.PolicyViolation)
      if (err instanceof Errors.PolicyViolation) {
        assert.isFalse(err.loggedOut)
        assert.include(err.detail, "could not be removed")
      }
    }))

  it.effect("corrupt stored credentials are left to the normal load path", () =>
    Effect.gen(function*() {
      const { probe, run } = enforce(config(managed({ forced_login_method: "chatgpt" })), undefined, { corrupt: true })
      assert.strictEqual((yield* run)._tag, "Success")
      assert.strictEqual(probe.removes, 0)
    }))

  it.effect("CODEX_API_KEY under forced chatgpt: refused, nothing to log out", () =>
    Effect.gen(function*() {
      const { probe, run } = enforce(config(managed({ forced_login_method: "chatgpt" })), chatgptDoc("ws-1"), {
        env: { CODEX_API_KEY: "sk-env-secret-123456" }
      })
      const exit = yield* run
      const err = exit._tag === "Failure" ? (exit.cause.reasons[0] as { error?: unknown }).error : undefined
      assert.instanceOf(err, Errors.PolicyViolation)
      if (err instanceof Errors.PolicyViolation) {
        assert.isFalse(err.loggedOut)
        assert.strictEqual(err.rule, "forced_login_method")
        assert.include(err.detail, "CODEX_API_KEY is set in the environment")
        assert.include(err.detail, "unset CODEX_API_KEY")
        assert.notInclude(err.userMessage, "sk-env-secret")
      }
      // the compliant stored ChatGPT login is untouched
      assert.strictEqual(probe.removes, 0)
    }))

  it.effect("CODEX_API_KEY allowed by the policy passes; an empty one is ignored", () =>
    Effect.gen(function*() {
      const ok = enforce(config(managed({ forced_login_method: "api" })), undefined, { env: { CODEX_API_KEY: "sk-x" } })
      assert.strictEqual((yield* ok.run)._tag, "Success")
      const empty = enforce(config(managed({ forced_login_method: "chatgpt" })), undefined, { env: { CODEX_API_KEY: " " } })
      assert.strictEqual((yield* empty.run)._tag, "Success")
    }))

  it.effect("CODEX_ACCESS_TOKEN from the wrong workspace is refused", () =>
    Effect.gen(function*() {
      const cfg = config(managed({ forced_chatgpt_workspace_id: ["ws-1"] }))
      const bad = enforce(cfg, undefined, { env: { CODEX_ACCESS_TOKEN: idTokenFor("ws-2") } })
      const exit = yield* bad.run
      const err = exit._tag === "Failure" ? (exit.cause.reasons[0] as { error?: unknown }).error : undefined
      assert.instanceOf(err, Errors.PolicyViolation)
      if (err instanceof Errors.PolicyViolation) assert.include(err.detail, "CODEX_ACCESS_TOKEN")
      const good = enforce(cfg, undefined, { env: { CODEX_ACCESS_TOKEN: idTokenFor("ws-1") } })
      assert.strictEqual((yield* good.run)._tag, "Success")
    }))
})

describe("describePolicy", () => {
  it("shows each value with its source, and the effective policy", () => {
    const d = Policy.describePolicy(config(
      managed({ forced_chatgpt_workspace_id: ["ws-1", "ws-2"], allow_device_code_login: false }),
      { overrides: { forced_login_method: "chatgpt" } },
      user({ cli_auth_credentials_store: "auto", forced_login_method: "api" })
    ))
    assert.deepStrictEqual(d.settings.forced_login_method, { value: "chatgpt", source: "override: -c" })
    assert.deepStrictEqual(d.settings.forced_chatgpt_workspace_id, { value: ["ws-1", "ws-2"], source: `managed: ${MANAGED}` })
    assert.deepStrictEqual(d.settings.cli_auth_credentials_store, { value: "auto", source: `user: ${USER}` })
    assert.deepStrictEqual(d.settings.allowed_login_methods, { value: null, source: "default" })
    assert.deepStrictEqual(d.settings.allow_device_code_login, { value: false, source: `managed: ${MANAGED}` })
    assert.deepStrictEqual(d.effective, {
      login_methods: ["chatgpt"],
      chatgpt_workspaces: ["ws-1", "ws-2"],
      allowed_workspace_id: "ws-1,ws-2",
      device_code_login: false
    })
    assert.deepStrictEqual(d.files.map((f) => f.layer), ["requirements", "managed", "user"])
    // round-trips through JSON unchanged
    assert.deepStrictEqual(JSON.parse(JSON.stringify(d)), d)
  })

  it("no configuration: everything default, everything allowed", () => {
    const d = Policy.describePolicy(config())
    assert.deepStrictEqual(d.effective, { login_methods: ["chatgpt", "api"], chatgpt_workspaces: null, allowed_workspace_id: null, device_code_login: true })
    assert.deepStrictEqual(d.settings.cli_auth_credentials_store, { value: "file", source: "default" })
  })
})

describe("Policy.layer", () => {
  it.effect("builds AuthPolicy from CodexConfig", () =>
    Effect.gen(function*() {
      const p = yield* Effect.service(AuthPolicy.AuthPolicy)
      assert.deepStrictEqual(p.forcedLoginMethod, { value: "api", source: `managed: ${MANAGED}` })
      yield* violationOf(p.checkLogin("chatgpt"))
    }).pipe(Effect.provide(Policy.layer.pipe(Layer.provide(CodexConfig.layerFromValues(managed({ forced_login_method: "api" })))))))
})
