/**
 * Usage errors of the full command tree (effect/cli's parse errors, as `Output.describeFailure`
 * renders them): an `error:` message and a `hint:`, exit 2, the help only for `--help` (on the
 * console, never for an invalid invocation), and no argument that looks like a key or token
 * echoed anywhere.
 */
import { NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer } from "effect"
import { Command } from "effect/cli"
import { TestConsole } from "effect/testing"
import { describe, expect, it } from "vitest"
import { cli, presenterLayer } from "../src/Cli.ts"
import { describeFailure } from "../src/Output.ts"

const run = (argv: ReadonlyArray<string>) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Command.runWith(cli, { version: "0.0.0" })(argv))
      const logs = (yield* TestConsole.logLines).join("\n")
      const errors = (yield* TestConsole.errorLines).join("\n")
      return { exit, logs, errors }
    }).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, presenterLayer, TestConsole.layer)))
  )

const failure = async (argv: ReadonlyArray<string>) => {
  const r = await run(argv)
  expect(Exit.isFailure(r.exit)).toBe(true)
  if (!Exit.isFailure(r.exit)) throw new Error("no failure")
  return { ...r, described: describeFailure(Cause.squash(r.exit.cause)) }
}

const SECRETS = [
  "sk-proj-SeCrEt0123456789abcdef",
  "eyJhbGciOiJub25lIn0.eyJzdWIiOiJTZUNyRXQifQ.SeCrEtSig",
  "at-SeCrEtAccessToken",
  "SeCrEtOpaqueValue0123456789"
]

describe("usage errors", () => {
  it("an unknown command or flag: a message and a hint, exit 2, nothing on the console (no help)", async () => {
    for (const argv of [["frobnicate"], ["login", "--frob"], ["--frob"], ["token", "--frob"], ["login", "status", "--frob"], ["logout", "extra"]]) {
      const r = await failure(argv)
      expect(r.described.exitCode, argv.join(" ")).toBe(2)
      expect(r.described.message).toMatch(/^(unknown command|unknown flag|unexpected argument)/)
      expect(r.described.hint).toMatch(/^Run `codex-auth --help`/)
      expect(r.logs, argv.join(" ")).toBe("")
      expect(r.errors, argv.join(" ")).toBe("")
    }
  })

  it("a typo gets the suggestion in the hint", async () => {
    const r = await failure(["login", "stauts"])
    expect(r.described.message).toBe("unknown command \"stauts\" for `codex-auth login`")
    expect(r.described.hint).toContain("Did you mean `status`?")
  })

  it("--help prints the help on the console and is not an error", async () => {
    const r = await run(["login", "--help"])
    expect(r.logs).toContain("USAGE")
    expect(Exit.isFailure(r.exit) ? describeFailure(Cause.squash(r.exit.cause)).message : "").not.toMatch(/unknown|unexpected/)
  })

  it("a secret-shaped argument is never echoed, wherever it is typed", async () => {
    for (const secret of SECRETS) {
      for (const argv of [["login", secret], ["token", secret], ["login", "status", secret], ["login", "--store", secret], [`--${secret}`], ["logout", `--local-only=${secret}`]]) {
        const r = await failure(argv)
        const all = `${r.described.message}\n${r.described.hint}\n${r.logs}\n${r.errors}`
        expect(all, argv.join(" ")).not.toContain("SeCrEt")
        expect(r.described.exitCode).toBe(2)
        expect(r.described.hint).toContain("Keys and tokens are never taken as arguments")
      }
    }
  })

  it("--with-api-key=VALUE is refused without the value, with the stdin hint", async () => {
    const r = await failure(["login", `--with-api-key=${SECRETS[0]}`])
    expect(r.described.message).toBe("--with-api-key takes no value: the API key is read from stdin (the value given was neither used nor shown)")
    expect(r.described.hint).toContain("printenv OPENAI_API_KEY | codex-auth login --with-api-key")
    expect(`${r.described.message}${r.described.hint}${r.logs}${r.errors}`).not.toContain("SeCrEt")
  })
})
