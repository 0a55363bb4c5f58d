/** Loopback HTTPS and WSS servers for the TLS tests. */
import * as https from "node:https"
import type { AddressInfo } from "node:net"
import { WebSocketServer } from "ws"
import type { DevCertificates } from "../../src/DevCertificates.ts"

export interface TestServer {
  readonly port: number
  readonly origin: string
  readonly hits: () => number
  readonly close: () => Promise<void>
}

/** An HTTPS server answering `hello <path>`; also a WSS echo server on the same port. */
export const startHttpsServer = async (certs: DevCertificates, host = "127.0.0.1"): Promise<TestServer> => {
  let hits = 0
  const server = https.createServer({ cert: certs.serverCertPem, key: certs.serverKeyPem }, (req, res) => {
    hits++
    res.writeHead(200, { "content-type": "text/plain", date: new Date().toUTCString() })
    res.end(`hello ${req.url}`)
  })
  const wss = new WebSocketServer({ server })
  wss.on("connection", (socket) => {
    hits++
    socket.on("message", (data) => socket.send(`echo ${data.toString()}`))
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    port,
    origin: `https://${host === "::1" ? "[::1]" : host}:${port}`,
    hits: () => hits,
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
