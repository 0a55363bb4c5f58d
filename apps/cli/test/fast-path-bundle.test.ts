/**
 * The payload bundle format (tooling/build/bundle.mjs + src/Payloads.ts) on small programs built
 * here: payloads that contain `*\/` (in strings, regular expressions, templates) survive the
 * block-comment encoding byte for byte, a compressed payload too, and a builtin imported by a
 * payload is loaded only when one of its exports is first used.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
// @ts-expect-error: a plain .mjs module without type declarations
import { bundle } from "../../../tooling/build/bundle.mjs"

const src = resolve(dirname(fileURLToPath(import.meta.url)), "../src")
const dir = mkdtempSync(join(tmpdir(), "codex-auth-bundle-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const payload = `
import { createHash } from "node:crypto"
const loaded = () => process.moduleLoadList.includes("NativeModule crypto")
export const texts = ["a*/b", /x*/.source, \`t*/
u\`, "/*", "*", "**/"]
export const cryptoBeforeUse = loaded()
export const digest = () => createHash("sha256").update(texts.join("|")).digest("hex")
export const cryptoAfterUse = () => loaded()
`

const entry = `
import * as Payloads from ${JSON.stringify(join(src, "Payloads.ts"))}
const out = {}
for (const name of ["plain", "packed"]) {
  const p = Payloads.start(name, "test")
  out[name] = { texts: p.exports.texts, before: p.exports.cryptoBeforeUse, digest: p.exports.digest(), after: p.exports.cryptoAfterUse() }
  p.finish()
}
process.stdout.write(JSON.stringify(out))
`

let outfile = ""
let table: Record<string, { encoding: string; pieces?: Array<number> }> = {}

beforeAll(async () => {
  writeFileSync(join(dir, "payload.ts"), payload)
  writeFileSync(join(dir, "entry.ts"), entry)
  outfile = join(dir, "dist", "test.mjs")
  const result = await bundle(esbuild, {
    entry: join(dir, "entry.ts"),
    outfile,
    payloads: { plain: join(dir, "payload.ts"), packed: { entry: join(dir, "payload.ts"), compress: true } }
  })
  table = Object.fromEntries(Object.entries(result.payloads as Record<string, { encoding: string }>).map(([k, v]) => [k, v]))
  const text = readFileSync(outfile, "latin1")
  const m = /JSON\.parse\(("\{.*?")\)/.exec(text)
  table = JSON.parse(JSON.parse(m![1]!) as string) as typeof table
})

describe("payload bundle format", () => {
  it("payloads with */ inside are cut into pieces and restored exactly; compressed ones too", () => {
    expect(table["plain"]?.encoding).toBe("block")
    expect(table["plain"]?.pieces?.length).toBeGreaterThan(1)
    expect(table["packed"]?.encoding).toBe("brotli-base64")
    const r = spawnSync(process.execPath, [outfile], { encoding: "utf8", env: { PATH: process.env["PATH"], XDG_CACHE_HOME: join(dir, "cache"), HOME: dir } })
    expect(r.stderr).toBe("")
    expect(r.status).toBe(0)
    const out = JSON.parse(r.stdout) as Record<string, { texts: Array<string>; digest: string; before: boolean; after: boolean }>
    const texts = ["a*/b", "x*", "t*/\nu", "/*", "*", "**/"]
    for (const name of ["plain", "packed"]) {
      expect(out[name]?.texts).toEqual(texts)
      expect(out[name]?.digest).toMatch(/^[0-9a-f]{64}$/)
    }
  })

  it("a builtin is loaded when a payload first uses it, not when the payload is evaluated", () => {
    const r = spawnSync(process.execPath, [outfile], { encoding: "utf8", env: { PATH: process.env["PATH"], XDG_CACHE_HOME: join(dir, "cache2"), HOME: dir } })
    const out = JSON.parse(r.stdout) as Record<string, { before: boolean; after: boolean }>
    expect(out["plain"]).toMatchObject({ before: false, after: true })
  })
})
