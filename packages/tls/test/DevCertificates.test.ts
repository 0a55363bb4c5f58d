import { describe, expect, it } from "vitest"
import * as https from "node:https"
import { X509Certificate } from "node:crypto"
import type { AddressInfo } from "node:net"
import { generateDevCertificates } from "../src/DevCertificates.ts"

const startServer = async (cert: string, key: string, host: string) => {
  const server = https.createServer({ cert, key }, (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" })
    res.end("hello over tls")
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, host, () => resolve())
  })
  return server
}

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

describe("generateDevCertificates", () => {
  it("produces a CA and a localhost server certificate with the right extensions", async () => {
    const certs = await generateDevCertificates({ commonName: "unit test CA", validDays: 2 })
    const ca = new X509Certificate(certs.caCertPem)
    const server = new X509Certificate(certs.serverCertPem)
    expect(ca.ca).toBe(true)
    expect(ca.subject).toContain("CN=unit test CA")
    expect(server.ca).toBe(false)
    expect(server.checkIssued(ca)).toBe(true)
    expect(server.verify(ca.publicKey)).toBe(true)
    expect(server.checkHost("localhost")).toBe("localhost")
    expect(server.checkIP("127.0.0.1")).toBe("127.0.0.1")
    expect(server.checkIP("::1")).toBe("::1")
    expect(server.checkHost("example.com")).toBeUndefined()
    expect(server.keyUsage).toContain("1.3.6.1.5.5.7.3.1")
    const lifetimeDays = (Date.parse(server.validTo) - Date.parse(server.validFrom)) / 86_400_000
    expect(lifetimeDays).toBeGreaterThan(1.9)
    expect(lifetimeDays).toBeLessThan(2.2)
    expect(certs.caKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/)
    expect(certs.caCertPem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/)
    expect(certs.serverKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)
  })

  it("a node:https server is trusted with only the CA and rejected without it", async () => {
    const certs = await generateDevCertificates()
    const server = await startServer(certs.serverCertPem, certs.serverKeyPem, "127.0.0.1")
    try {
      const { port } = server.address() as AddressInfo
      for (const host of ["127.0.0.1", "localhost"]) {
        const ok = await get(`https://${host}:${port}/`, certs.caCertPem)
        expect(ok).toEqual({ status: 200, body: "hello over tls" })
      }
      await expect(get(`https://127.0.0.1:${port}/`, undefined)).rejects.toMatchObject({
        code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
      })
      // A different CA does not vouch for this server.
      const other = await generateDevCertificates()
      await expect(get(`https://127.0.0.1:${port}/`, other.caCertPem)).rejects.toMatchObject({
        code: expect.stringMatching(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE/)
      })
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it("works over IPv6 loopback and with custom hosts", async () => {
    const certs = await generateDevCertificates({ hosts: ["codex.test", "127.0.0.1"] })
    const server = new X509Certificate(certs.serverCertPem)
    expect(server.subject).toBe("CN=codex.test")
    expect(server.checkHost("codex.test")).toBe("codex.test")
    expect(server.checkHost("localhost")).toBeUndefined()
    const defaults = await generateDevCertificates()
    let https6: https.Server | undefined
    try {
      https6 = await startServer(defaults.serverCertPem, defaults.serverKeyPem, "::1")
    } catch {
      return // no IPv6 loopback on this machine; the SAN itself is checked above
    }
    try {
      const { port } = https6.address() as AddressInfo
      expect(await get(`https://[::1]:${port}/`, defaults.caCertPem)).toEqual({ status: 200, body: "hello over tls" })
    } finally {
      await new Promise<void>((resolve) => https6!.close(() => resolve()))
    }
  })
})
