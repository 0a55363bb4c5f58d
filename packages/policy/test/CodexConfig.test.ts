import { Errors } from "@codex-auth/core"
import { CodexConfig, Policy } from "@codex-auth/policy"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, type Layer } from "effect"
import fc from "fast-check"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { tempDir, writeFiles } from "./fixtures.ts"

/** A CODEX_HOME with an optional config.toml, plus an optional managed file and requirements file. */
const setup = (files: { user?: string; managed?: string; requirements?: string }) => {
  const root = tempDir()
  const codexHome = join(root, "home")
  mkdirSync(codexHome)
  if (files.user !== undefined) writeFileSync(join(codexHome, "config.toml"), files.user)
  const managedConfigPath = join(root, "managed_config.toml")
  const requirementsPath = join(root, "requirements.toml")
  if (files.managed !== undefined) writeFileSync(managedConfigPath, files.managed)
  if (files.requirements !== undefined) writeFileSync(requirementsPath, files.requirements)
  return { codexHome, managedConfigPath, requirementsPath, userPath: join(codexHome, "config.toml") }
}

const load = (s: ReturnType<typeof setup>, overrides: ReadonlyArray<string> = []) =>
  CodexConfig.load({
    codexHome: s.codexHome,
    overrides,
    managedConfigPath: s.managedConfigPath,
    requirementsPath: s.requirementsPath
  })

const loadError = (s: ReturnType<typeof setup>, overrides: ReadonlyArray<string> = []) =>
  Effect.flip(load(s, overrides))

describe("CodexConfig: layering", () => {
  it.effect("no files: defaults everywhere", () =>
    Effect.gen(function*() {
      const s = setup({})
      const c = yield* load(s)
      assert.isUndefined(c.forcedLoginMethod)
      assert.isUndefined(c.forcedWorkspaceIds)
      assert.deepStrictEqual(c.credentialsStore, { value: "file", source: "default" })
      assert.deepStrictEqual(c.allowDeviceCodeLogin, { value: true, source: "default" })
      assert.deepStrictEqual(c.files.map((f) => f.present), [false, false, false])
    }))

  it.effect("user config.toml values carry the user file as source; unrelated keys are ignored", () =>
    Effect.gen(function*() {
      const s = setup({
        user: `model = "gpt-5"\nsandbox_mode = "workspace-write"\nforced_login_method = "api"\ncli_auth_credentials_store = "keyring"\n\n[mcp_servers.x]\ncommand = "y"\nforced_login_method = 42\n`
      })
      const c = yield* load(s)
      assert.deepStrictEqual(c.forcedLoginMethod, { value: "api", source: `user: ${s.userPath}` })
      assert.deepStrictEqual(c.credentialsStore, { value: "keyring", source: `user: ${s.userPath}` })
    }))

  it.effect("-c overrides sit above the user file and below managed configuration", () =>
    Effect.gen(function*() {
      const s = setup({
        user: `forced_login_method = "api"\nforced_chatgpt_workspace_id = "ws-user"\ncli_auth_credentials_store = "auto"\n`,
        managed: `forced_chatgpt_workspace_id = "ws-managed"\n`
      })
      const c = yield* load(s, ["forced_login_method=chatgpt", "forced_chatgpt_workspace_id=\"ws-cli\"", "cli_auth_credentials_store=\"keyring\""])
      assert.deepStrictEqual(c.forcedLoginMethod, { value: "chatgpt", source: "override: -c" })
      assert.deepStrictEqual(c.forcedWorkspaceIds, { value: ["ws-managed"], source: `managed: ${s.managedConfigPath}` })
      assert.deepStrictEqual(c.credentialsStore, { value: "keyring", source: "override: -c" })
    }))

  it.effect("managed values win over user values and overrides", () =>
    Effect.gen(function*() {
      const s = setup({
        user: `forced_login_method = "api"\nallow_device_code_login = true\n`,
        managed: `forced_login_method = "chatgpt"\nallow_device_code_login = false\ncli_auth_credentials_store = "file"\n`
      })
      const c = yield* load(s, ["forced_login_method=api", "cli_auth_credentials_store=keyring"])
      assert.deepStrictEqual(c.forcedLoginMethod, { value: "chatgpt", source: `managed: ${s.managedConfigPath}` })
      assert.deepStrictEqual(c.allowDeviceCodeLogin, { value: false, source: `managed: ${s.managedConfigPath}` })
      assert.deepStrictEqual(c.credentialsStore, { value: "file", source: `managed: ${s.managedConfigPath}` })
    }))

  it.effect("later -c overrides of the same key win", () =>
    Effect.gen(function*() {
      const c = yield* load(setup({}), ["forced_login_method=api", "forced_login_method=chatgpt"])
      assert.strictEqual(c.forcedLoginMethod?.value, "chatgpt")
    }))

  it.effect("requirements.toml: allow-lists are read, and its pins beat managed configuration", () =>
    Effect.gen(function*() {
      const s = setup({
        managed: `cli_auth_credentials_store = "auto"\n`,
        requirements: `allowed_login_methods = ["chatgpt"]\nallowed_chatgpt_workspaces = [" ws-1 ", "ws-2", "ws-1"]\ncli_auth_credentials_store = "keyring"\nallowed_sandbox_modes = ["read-only"]\n`
      })
      const c = yield* load(s)
      const src = `requirements: ${s.requirementsPath}`
      assert.deepStrictEqual(c.allowedLoginMethods, { value: ["chatgpt"], source: src })
      assert.deepStrictEqual(c.allowedWorkspaces, { value: ["ws-1", "ws-2"], source: src })
      assert.deepStrictEqual(c.credentialsStore, { value: "keyring", source: src })
    }))

  it.effect("a workspace list keeps its order, is trimmed and de-duplicated; [] stays empty", () =>
    Effect.gen(function*() {
      const c1 = yield* load(setup({ managed: `forced_chatgpt_workspace_id = ["b", " a", "b"]\n` }))
      assert.deepStrictEqual(c1.forcedWorkspaceIds?.value, ["b", "a"])
      const c2 = yield* load(setup({ managed: `forced_chatgpt_workspace_id = []\n` }))
      assert.deepStrictEqual(c2.forcedWorkspaceIds?.value, [])
    }))

  it.effect("Policy.layerFromFiles gives AuthPolicy and CodexConfig from the same files", () =>
    Effect.gen(function*() {
      const s = setup({ managed: `forced_login_method = "api"\n` })
      const d = yield* Policy.describe.pipe(
        Effect.provide(Policy.layerFromFiles({ codexHome: s.codexHome, managedConfigPath: s.managedConfigPath, requirementsPath: s.requirementsPath }))
      )
      assert.deepStrictEqual(d.effective.login_methods, ["api"])
    }))
})

describe("CodexConfig: errors name the file, line and key", () => {
  it.effect("invalid forced_login_method in the user file", () =>
    Effect.gen(function*() {
      const s = setup({ user: `model = "gpt-5"\n\n# policy\nforced_login_method = "sso"\n` })
      const e = yield* loadError(s)
      assert.strictEqual(e._tag, "ConfigError")
      assert.strictEqual(e.file, s.userPath)
      assert.strictEqual(e.line, 4)
      assert.strictEqual(e.key, "forced_login_method")
      assert.include(e.userMessage, `${s.userPath}:4 (key forced_login_method)`)
      assert.include(e.userMessage, `expected "chatgpt" or "api", got "sso"`)
      assert.strictEqual(e.exitCode, 8)
    }))

  it.effect("invalid value in the managed file names the managed file", () =>
    Effect.gen(function*() {
      const s = setup({ user: `forced_login_method = "api"\n`, managed: `\n\ncli_auth_credentials_store = "vault"\n` })
      const e = yield* loadError(s)
      assert.strictEqual(e.file, s.managedConfigPath)
      assert.strictEqual(e.line, 3)
      assert.strictEqual(e.key, "cli_auth_credentials_store")
      assert.include(e.detail, "\"vault\"")
    }))

  it.effect("the wrong type is reported, not coerced", () =>
    Effect.gen(function*() {
      const e1 = yield* loadError(setup({ user: `allow_device_code_login = "no"\n` }))
      assert.strictEqual(e1.key, "allow_device_code_login")
      assert.include(e1.detail, "expected true or false")
      const e2 = yield* loadError(setup({ user: `forced_chatgpt_workspace_id = 12\n` }))
      assert.include(e2.detail, "got the number 12")
      const e3 = yield* loadError(setup({ user: `x = 1\nforced_chatgpt_workspace_id = ["a", 2]\n` }))
      assert.strictEqual(e3.line, 2)
      const e4 = yield* loadError(setup({ user: `[forced_chatgpt_workspace_id]\nid = "a"\n` }))
      assert.strictEqual(e4.line, 1)
      assert.include(e4.detail, "got a table")
    }))

  it.effect("a comma-separated workspace string is refused as Codex refuses it", () =>
    Effect.gen(function*() {
      const e = yield* loadError(setup({ managed: `forced_chatgpt_workspace_id = "ws-1,ws-2"\n` }))
      assert.include(e.detail, "comma-separated")
      assert.include(e.detail, "[\"id-1\", \"id-2\"]")
    }))

  it.effect("an empty workspace ID is an error, never 'any workspace'", () =>
    Effect.gen(function*() {
      const e1 = yield* loadError(setup({ managed: `forced_chatgpt_workspace_id = "  "\n` }))
      assert.include(e1.detail, "empty")
      const e2 = yield* loadError(setup({ managed: `forced_chatgpt_workspace_id = ["ok", ""]\n` }))
      assert.include(e2.detail, "item 2")
    }))

  it.effect("invalid requirements.toml list", () =>
    Effect.gen(function*() {
      const s = setup({ requirements: `allowed_login_methods = ["chatgpt", "sso"]\n` })
      const e = yield* loadError(s)
      assert.strictEqual(e.file, s.requirementsPath)
      assert.strictEqual(e.line, 1)
      assert.strictEqual(e.key, "allowed_login_methods")
      assert.include(e.detail, "\"sso\"")
    }))

  it.effect("malformed TOML names the file and the line", () =>
    Effect.gen(function*() {
      const s = setup({ managed: `forced_login_method = "chatgpt"\nforced_chatgpt_workspace_id = [\n  "a"\n  "b"\n]\n` })
      const e = yield* loadError(s)
      assert.strictEqual(e.file, s.managedConfigPath)
      assert.strictEqual(e.line, 4)
      assert.include(e.userMessage, "not valid TOML")
      assert.isUndefined(e.key)
    }))

  it.effect("a malformed user file is an error even when managed configuration is fine", () =>
    Effect.gen(function*() {
      const s = setup({ user: `model = \n`, managed: `forced_login_method = "chatgpt"\n` })
      const e = yield* loadError(s)
      assert.strictEqual(e.file, s.userPath)
      assert.strictEqual(e.line, 1)
    }))

  it.effect("invalid -c value names -c and the key", () =>
    Effect.gen(function*() {
      const e = yield* loadError(setup({}), ["model=o3", "forced_login_method=sso"])
      assert.strictEqual(e.file, "-c (command line)")
      assert.strictEqual(e.key, "forced_login_method")
      assert.include(e.userMessage, "forced_login_method=sso")
      const e2 = yield* loadError(setup({}), ["forced_login_method.x=api"])
      assert.include(e2.detail, "got a table")
      const e3 = yield* loadError(setup({}), ["forced_login_method"])
      assert.include(e3.detail, "expected key=value")
    }))

  it.effect("-c overrides of unrelated keys never fail", () =>
    Effect.gen(function*() {
      const c = yield* load(setup({}), ["model=o3", "sandbox_permissions=[\"disk-full-read-access\"]", "a.b.c={x=1}"])
      assert.isUndefined(c.forcedLoginMethod)
    }))

  it.effect("an unreadable file (a directory) is an error naming it", () =>
    Effect.gen(function*() {
      const s = setup({})
      mkdirSync(s.managedConfigPath)
      const e = yield* loadError(s)
      assert.strictEqual(e.file, s.managedConfigPath)
      assert.include(e.detail, "cannot be read (EISDIR)")
    }))

  it.effect("CodexConfig.layer fails the layer with the ConfigError", () =>
    Effect.gen(function*() {
      const s = setup({ user: `forced_login_method = "sso"\n` })
      const exit = yield* Effect.exit(
        Effect.provide(Effect.service(CodexConfig.CodexConfig), CodexConfig.layer({ codexHome: s.codexHome, managedConfigPath: s.managedConfigPath, requirementsPath: s.requirementsPath }))
      )
      assert.isTrue(Exit.isFailure(exit))
      const e = yield* Effect.flip(
        Effect.provide(Effect.service(CodexConfig.CodexConfig), CodexConfig.layer({ codexHome: s.codexHome, managedConfigPath: s.managedConfigPath, requirementsPath: s.requirementsPath }))
      )
      assert.instanceOf(e, Errors.ConfigError)
    }))

  it.effect("random values for owned keys either validate or fail with file, line and key (property)", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom("forced_login_method", "forced_chatgpt_workspace_id", "cli_auth_credentials_store", "allow_device_code_login"),
          fc.oneof(
            fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
            fc.integer().map(String),
            fc.constantFrom("true", "false", "[]", "[\"a\"]", "[1]", "{ a = 1 }", "\"chatgpt\"", "\"api\"", "\"file\"", "\"keyring\"", "1979-05-27")
          ),
          fc.nat({ max: 4 }),
          async (key, value, padding) => {
            const text = `${"# pad\n".repeat(padding)}${key} = ${value}\n`
            const s = setup({ user: text })
            const exit = await Effect.runPromiseExit(load(s))
            if (Exit.isSuccess(exit)) return true
            const e = exit.cause.reasons[0]
            const err = e !== undefined && "error" in e ? e.error : undefined
            return err instanceof Errors.ConfigError && err.file === s.userPath && err.key === key && err.line === padding + 1
          }
        ),
        { numRuns: 150 }
      )
    ))
})

describe("CodexConfig: managed path from the environment", () => {
  const withEnv = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromUnknown(env))

  it.effect("CODEX_MANAGED_CONFIG_PATH and CODEX_REQUIREMENTS_PATH point at test files while the system files are absent", () =>
    Effect.gen(function*() {
      const f = writeFiles({ "m.toml": `forced_login_method = "chatgpt"\n`, "r.toml": `allowed_chatgpt_workspaces = ["w"]\n` })
      const c = yield* CodexConfig.load({ codexHome: tempDir() }).pipe(
        Effect.provide(withEnv({ CODEX_MANAGED_CONFIG_PATH: f.path("m.toml"), CODEX_REQUIREMENTS_PATH: f.path("r.toml") }))
      )
      assert.deepStrictEqual(c.forcedLoginMethod, { value: "chatgpt", source: `managed: ${f.path("m.toml")}` })
      assert.deepStrictEqual(c.allowedWorkspaces?.value, ["w"])
      assert.deepStrictEqual(c.notes, [])
    }))

  it.effect("without the variables the system paths are used", () =>
    Effect.gen(function*() {
      const c = yield* CodexConfig.load({ codexHome: tempDir() }).pipe(Effect.provide(withEnv({})))
      assert.deepStrictEqual(c.files.map((f) => f.path).slice(0, 2), [CodexConfig.REQUIREMENTS_PATH, CodexConfig.MANAGED_CONFIG_PATH])
    }))
})

describe("layerFromValues", () => {
  it.effect("resolves in-memory layers with the same precedence and sources", () =>
    Effect.gen(function*() {
      const c = yield* Effect.service(CodexConfig.CodexConfig)
      assert.deepStrictEqual(c.forcedLoginMethod, { value: "chatgpt", source: "managed: /etc/codex/managed_config.toml" })
      assert.deepStrictEqual(c.allowDeviceCodeLogin, { value: false, source: "user: /nonexistent/.codex/config.toml" })
    }).pipe(Effect.provide(CodexConfig.layerFromValues({
      managed: { path: CodexConfig.MANAGED_CONFIG_PATH, values: { forced_login_method: "chatgpt" } },
      overrides: { forced_login_method: "api" },
      user: { path: "/nonexistent/.codex/config.toml", values: { allow_device_code_login: false } }
    }))))

  it("Layer type is usable without requirements", () => {
    const l: Layer.Layer<CodexConfig.CodexConfig> = CodexConfig.layerFromValues()
    assert.isDefined(l)
  })
})

describe("resolveSystemPath: an installed policy cannot be swapped by the environment", () => {
  const withEnv = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromUnknown(env))

  it.effect("the variable is ignored, with a note, when the system file exists", () =>
    Effect.gen(function*() {
      const f = writeFiles({ "system.toml": "forced_login_method = \"chatgpt\"\n", "mine.toml": "" })
      const r = yield* CodexConfig.resolveSystemPath(f.path("system.toml"), "CODEX_MANAGED_CONFIG_PATH").pipe(
        Effect.provide(withEnv({ CODEX_MANAGED_CONFIG_PATH: f.path("mine.toml") }))
      )
      assert.strictEqual(r.path, f.path("system.toml"))
      assert.include(r.note ?? "", "was ignored")
      assert.include(r.note ?? "", f.path("system.toml"))
    }))

  it.effect("the variable is honoured when the system file is absent; an empty variable counts as unset", () =>
    Effect.gen(function*() {
      const f = writeFiles({ "mine.toml": "" })
      const r = yield* CodexConfig.resolveSystemPath(f.path("absent.toml"), "X_PATH").pipe(
        Effect.provide(withEnv({ X_PATH: f.path("mine.toml") }))
      )
      assert.deepStrictEqual(r, { path: f.path("mine.toml"), note: undefined })
      const r2 = yield* CodexConfig.resolveSystemPath(f.path("absent.toml"), "X_PATH").pipe(Effect.provide(withEnv({ X_PATH: "" })))
      assert.strictEqual(r2.path, f.path("absent.toml"))
    }))
})

describe("effectiveStoreMode", () => {
  const cfg = (layers: Partial<CodexConfig.Layers>) => CodexConfig.resolveLayers({ codexHome: "/h", ...layers })
  it("--store beats -c and the user file, but not managed configuration or requirements", () => {
    assert.deepStrictEqual(CodexConfig.effectiveStoreMode(cfg({}), undefined), { value: "file", source: "default" })
    assert.deepStrictEqual(CodexConfig.effectiveStoreMode(cfg({}), "auto"), { value: "auto", source: "--store" })
    assert.deepStrictEqual(
      CodexConfig.effectiveStoreMode(cfg({ user: { path: "/h/config.toml", values: { cli_auth_credentials_store: "keyring" } } }), "file"),
      { value: "file", source: "--store" }
    )
    assert.deepStrictEqual(
      CodexConfig.effectiveStoreMode(cfg({ managed: { path: "/m", values: { cli_auth_credentials_store: "keyring" } } }), "file"),
      { value: "keyring", source: "managed: /m" }
    )
    assert.deepStrictEqual(
      CodexConfig.effectiveStoreMode(cfg({ requirements: { path: "/r", values: { cli_auth_credentials_store: "auto" } } }), "file"),
      { value: "auto", source: "requirements: /r" }
    )
  })
})
