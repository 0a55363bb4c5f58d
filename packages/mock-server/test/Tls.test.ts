import { assert, describe, it } from "@effect/vitest"
import { X509Certificate } from "node:crypto"
import { mkdtempSync, readFileSync } from "node:fs"
import * as https from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startMockIssuer } from "../src/index.ts"

const get = (url: string, ca: string | undefined) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.get(url, ca === undefined ? {} : { ca }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (body += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
  })

describe("HTTPS with a private CA", () => {
  it("writes DIR/ca.pem; a client trusting only that CA connects, one without it is refused", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "mock-tls-")), "certs")
    const m = await startMockIssuer({ tls: { dir } })
    try {
      assert.match(m.url, /^https:\/\/127\.0\.0\.1:\d+$/)
      const caPath = join(dir, "ca.pem")
      assert.strictEqual(m.caPath, caPath)
      const caPem = readFileSync(caPath, "utf8")
      assert.strictEqual(caPem, m.caPem)
      assert.isTrue(new X509Certificate(caPem).ca)
      const ok = await get(`${m.url}/.well-known/openid-configuration`, caPem)
      assert.strictEqual(ok.status, 200)
      assert.strictEqual(JSON.parse(ok.body).issuer, m.url)
      const port = new URL(m.url).port
      assert.strictEqual((await get(`https://localhost:${port}/.well-known/jwks.json`, caPem)).status, 200)
      const refused = await get(`${m.url}/.well-known/openid-configuration`, undefined).then(() => undefined, (e: NodeJS.ErrnoException) => e.code)
      assert.match(refused ?? "", /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/)
    } finally {
      await m.close()
    }
  })

  it("binds only the requested host: an IPv6 mock on ::1 serves https://[::1]", async () => {
    const m = await startMockIssuer({ tls: true, host: "::1" })
    try {
      assert.match(m.url, /^https:\/\/\[::1\]:\d+$/)
      assert.strictEqual((await get(`${m.url}/.well-known/openid-configuration`, m.caPem)).status, 200)
      const port = new URL(m.url).port
      const v4 = await get(`https://127.0.0.1:${port}/`, m.caPem).then(() => "connected", (e: NodeJS.ErrnoException) => e.code)
      assert.strictEqual(v4, "ECONNREFUSED")
    } finally {
      await m.close()
    }
  })
})
