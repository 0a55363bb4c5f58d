/**
 * `matchFast`: exactly the argv shapes the fast path serves; everything else (flags only the full
 * CLI parses, help, typos, a repeated --codex-home) goes to effect/cli, which parses and reports it.
 */
import { describe, expect, it } from "vitest"
import { matchFast } from "../src/FastArgs.ts"

describe("matchFast", () => {
  it("recognises login status, login status --json and token, with --codex-home anywhere", () => {
    expect(matchFast(["login", "status"])).toEqual({ command: "status", json: false, codexHome: undefined })
    expect(matchFast(["login", "status", "--json"])).toEqual({ command: "status", json: true, codexHome: undefined })
    expect(matchFast(["token"])).toEqual({ command: "token", codexHome: undefined })
    expect(matchFast(["--codex-home", "/h", "login", "status"])).toEqual({ command: "status", json: false, codexHome: "/h" })
    expect(matchFast(["login", "--codex-home=/h", "status", "--json"])).toEqual({ command: "status", json: true, codexHome: "/h" })
    expect(matchFast(["token", "--codex-home", "rel/dir"])).toEqual({ command: "token", codexHome: "rel/dir" })
  })

  it("leaves everything else to the full CLI", () => {
    for (
      const argv of [
        [],
        ["login"],
        ["login", "status", "--json", "--json"],
        ["login", "status", "--verbose"],
        ["login", "--json", "status"],
        ["status"],
        ["token", "extra"],
        ["token", "--help"],
        ["--help"],
        ["--version"],
        ["--store", "file", "token"],
        ["-c", "x=1", "login", "status"],
        ["--config=x=1", "token"],
        ["--codex-home"],
        ["--codex-home", "token"],
        ["--codex-home=", "token"],
        ["--codex-home", "", "token"],
        ["--codex-home", "/a", "--codex-home", "/b", "token"],
        ["logout"],
        ["login", "--with-api-key"]
      ]
    ) {
      expect(matchFast(argv), argv.join(" ")).toBeUndefined()
    }
  })
})
