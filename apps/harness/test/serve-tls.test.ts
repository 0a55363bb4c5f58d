import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync, readFileSync } from "node:fs"
import * as https from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll } from "vitest"
import { ensureBundle, serve } from "./harness.ts"

beforeAll(ensureBundle)

describe("codex-auth-harness serve --tls", () => {
  it("--tls DIR writes DIR/ca.pem and serves HTTPS trusted by that CA only", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "harness-tls-")), "certs")
    const s = await serve(["--tls", dir, "--auto-approve"])
    try {
      assert.match(s.issuer, /^https:\/\/127\.0\.0\.1:\d+$/)
      assert.strictEqual(s.ca, join(dir, "ca.pem"))
      const ca = readFileSync(s.ca!, "utf8")
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get(`${s.issuer}/.well-known/openid-configuration`, { ca }, (res) => {
            let text = ""
            res.on("data", (d: Buffer) => (text += d.toString()))
            res.on("end", () => resolve(text))
          })
          .on("error", reject)
      })
      assert.strictEqual((JSON.parse(body) as { issuer: string }).issuer, s.issuer)
    } finally {
      s.child.kill("SIGTERM")
    }
    assert.strictEqual((await s.exit).code, 0)
  })
})
