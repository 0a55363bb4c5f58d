import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { X509Certificate } from "node:crypto"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import * as tls from "node:tls"
import { afterAll } from "vitest"
import { baseRoots, loadCaBundle, parsePemBundle, selectCaBundle, trustedRoots } from "../src/CaBundle.ts"
import { generateDevCertificates } from "../src/DevCertificates.ts"
import { devCerts, makeCrlPem, tempDir, toTrustedCertificatePem } from "./support/fixtures.ts"

const tmp = tempDir()
afterAll(() => tmp.cleanup())

describe("selectCaBundle", () => {
  it("prefers CODEX_CA_CERTIFICATE and records SSL_CERT_FILE as shadowed", () => {
    const sel = selectCaBundle({ CODEX_CA_CERTIFICATE: "/a.pem", SSL_CERT_FILE: "/b.pem" })
    assert.deepStrictEqual(sel, { variable: "CODEX_CA_CERTIFICATE", path: "/a.pem", shadowed: [{ variable: "SSL_CERT_FILE", path: "/b.pem" }] })
  })
  it("falls back to SSL_CERT_FILE, and treats empty values as unset", () => {
    assert.deepStrictEqual(selectCaBundle({ SSL_CERT_FILE: "/b.pem" }), { variable: "SSL_CERT_FILE", path: "/b.pem", shadowed: [] })
    assert.deepStrictEqual(selectCaBundle({ CODEX_CA_CERTIFICATE: "", SSL_CERT_FILE: "/b.pem" }), { variable: "SSL_CERT_FILE", path: "/b.pem", shadowed: [] })
    assert.strictEqual(selectCaBundle({ CODEX_CA_CERTIFICATE: "", SSL_CERT_FILE: "" }), undefined)
    assert.strictEqual(selectCaBundle({}), undefined)
  })
})

describe("parsePemBundle", () => {
  it.effect("reads several certificates with LF or CRLF endings and skips CRLs and keys", () =>
    Effect.gen(function*() {
      const a = yield* Effect.promise(devCerts)
      const b = yield* Effect.promise(() => generateDevCertificates({ commonName: "second CA" }))
      const crl = yield* Effect.promise(() => makeCrlPem(a))
      const text = ["# corporate roots", a.caCertPem, crl, b.caKeyPem, b.caCertPem].join("\n")
      for (const input of [text, text.replace(/\n/g, "\r\n"), Buffer.from(text.replace(/\n/g, "\r\n"))]) {
        const result = parsePemBundle(input)
        assert.strictEqual(result._tag, "Ok")
        if (result._tag !== "Ok") return
        assert.deepStrictEqual(result.certificates.map((c) => c.subject), [
          "CN=codex-auth test CA, O=codex-auth development",
          "CN=second CA, O=codex-auth development"
        ])
        assert.deepStrictEqual(result.ignoredBlocks, ["CRL", "PRIVATE KEY"])
        assert.isTrue(result.certificates.every((c) => c.isCa && !c.trusted))
        assert.strictEqual(result.certificates[0]?.fingerprint256, new X509Certificate(a.caCertPem).fingerprint256)
        assert.strictEqual(result.certificates[1]?.pem, b.caCertPem)
      }
    }))

  it.effect("normalizes OpenSSL TRUSTED CERTIFICATE blocks, dropping the trailing trust data", () =>
    Effect.gen(function*() {
      const a = yield* Effect.promise(devCerts)
      const trustedPem = toTrustedCertificatePem(a.caCertPem)
      assert.match(trustedPem, /BEGIN TRUSTED CERTIFICATE/)
      // The raw block is longer than the certificate: node:crypto refuses it as is.
      const raw = Buffer.from(trustedPem.replace(/-----[^-]+-----|\s/g, ""), "base64")
      assert.isAbove(raw.length, new X509Certificate(a.caCertPem).raw.length)
      const result = parsePemBundle(trustedPem)
      assert.strictEqual(result._tag, "Ok")
      if (result._tag !== "Ok") return
      assert.strictEqual(result.certificates.length, 1)
      assert.isTrue(result.certificates[0]?.trusted)
      assert.strictEqual(result.certificates[0]?.pem, a.caCertPem)
    }))

  it("explains what is wrong, block by block", () => {
    const expectInvalid = (input: string | Uint8Array, pattern: RegExp) => {
      const result = parsePemBundle(input)
      assert.strictEqual(result._tag, "Invalid")
      if (result._tag === "Invalid") assert.match(result.detail, pattern)
    }
    expectInvalid("", /the file is empty/)
    expectInvalid(" \r\n\n", /the file is empty/)
    expectInvalid("just some text\n", /no PEM certificate found/)
    expectInvalid(Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x02, 0x01]), /binary DER.*openssl x509 -inform der/)
    expectInvalid("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", /no certificate found among its 1 PEM block\(s\) \(PRIVATE KEY\)/)
    expectInvalid("-----BEGIN CERTIFICATE-----\nAAAA\n", /PEM block 1 \(CERTIFICATE, line 1\) has no "-----END CERTIFICATE-----" line/)
    expectInvalid("x\n-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n", /certificate 1 \(PEM block 1, line 2\) is not valid base64/)
    expectInvalid(
      "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n",
      /certificate 1 \(PEM block 2, line 4\) is not a valid X\.509 certificate/
    )
  })
})

describe("loadCaBundle", () => {
  it.effect("loads the selected file and reports the variable and path", () =>
    Effect.gen(function*() {
      const a = yield* Effect.promise(devCerts)
      const path = tmp.file("one.pem", a.caCertPem)
      const other = tmp.file("other.pem", a.caCertPem)
      const bundle = yield* loadCaBundle({ CODEX_CA_CERTIFICATE: path, SSL_CERT_FILE: other })
      assert.strictEqual(bundle?.variable, "CODEX_CA_CERTIFICATE")
      assert.strictEqual(bundle?.path, path)
      assert.strictEqual(bundle?.certificates.length, 1)
      assert.strictEqual(yield* loadCaBundle({ CODEX_CA_CERTIFICATE: "", SSL_CERT_FILE: "" }), undefined)
    }))

  it.effect("fails with TlsConfigError naming the variable and path: missing, directory, empty, not PEM, bad block", () =>
    Effect.gen(function*() {
      const dir = join(tmp.dir, "a-directory")
      mkdirSync(dir)
      const cases: Array<[Record<string, string>, string, RegExp]> = [
        [{ CODEX_CA_CERTIFICATE: join(tmp.dir, "missing.pem") }, "CODEX_CA_CERTIFICATE", /the file does not exist/],
        [{ SSL_CERT_FILE: dir }, "SSL_CERT_FILE", /it is a directory/],
        [{ SSL_CERT_FILE: join(tmp.file("plain-file", "x"), "child.pem") }, "SSL_CERT_FILE", /a parent of the path is not a directory/],
        [{ CODEX_CA_CERTIFICATE: tmp.file("empty.pem", "") }, "CODEX_CA_CERTIFICATE", /the file is empty/],
        [{ CODEX_CA_CERTIFICATE: tmp.file("text.pem", "hello") }, "CODEX_CA_CERTIFICATE", /no PEM certificate found/],
        [{ CODEX_CA_CERTIFICATE: tmp.file("bad.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt" }, "CODEX_CA_CERTIFICATE", /certificate 1 .* is not a valid X\.509 certificate/]
      ]
      for (const [env, variable, detail] of cases) {
        const error = yield* Effect.flip(loadCaBundle(env))
        assert.strictEqual(error._tag, "TlsConfigError")
        assert.strictEqual(error.variable, variable)
        assert.strictEqual(error.path, env[variable])
        assert.match(error.detail, detail)
        assert.include(error.userMessage, `${env[variable]} (from ${variable})`)
        assert.include(error.hint, variable)
        assert.strictEqual(error.exitCode, 6)
      }
    }))
})

describe("trustedRoots", () => {
  it.effect("adds the bundle to Node's roots instead of replacing them, without duplicates", () =>
    Effect.gen(function*() {
      const a = yield* Effect.promise(devCerts)
      const base = baseRoots()
      // Node's bundled Mozilla roots are all there.
      const key = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, "")
      const baseKeys = new Set(base.map(key))
      assert.isTrue(tls.rootCertificates.every((pem) => baseKeys.has(key(pem))))
      const path = tmp.file("dup.pem", a.caCertPem + a.caCertPem + (tls.rootCertificates[0] ?? ""))
      const bundle = yield* loadCaBundle({ CODEX_CA_CERTIFICATE: path })
      assert.strictEqual(bundle?.certificates.length, 3)
      const roots = trustedRoots(bundle)
      assert.strictEqual(roots.length, base.length + 1)
      assert.include(roots, a.caCertPem)
      assert.strictEqual(trustedRoots(undefined), base)
    }))
})
