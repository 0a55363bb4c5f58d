/**
 * Hostile clients for the browser sign-in's loopback callback server: raw HTTP over TCP (so
 * requests a browser or fetch would refuse to send can be sent), slowloris connections, floods of
 * parallel connections, and a check of which local addresses a port is listening on, read from
 * /proc/net/tcp{,6} (the kernel's own table, independent of the server's claims).
 *
 * Every request loop here is bounded in count and time and talks to loopback addresses only.
 */
import * as fs from "node:fs"
import * as net from "node:net"

export interface RawResponse {
  /** HTTP status, if a status line arrived. */
  readonly status: number | undefined
  /** Response bytes received before the connection closed or the time ran out. */
  readonly bytes: number
  /** The server closed (or reset) the connection. */
  readonly closed: boolean
  readonly body: string
}

/** Sends `payload` as is to `host:port` and collects the answer for at most `timeoutMs`. */
export const rawRequest = (host: string, port: number, payload: string | Buffer, timeoutMs = 5_000): Promise<RawResponse> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let closed = false
    const socket = net.connect({ host, port })
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      const text = Buffer.concat(chunks).toString("latin1")
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text)
      resolve({ status: m?.[1] === undefined ? undefined : Number(m[1]), bytes: text.length, closed, body: text })
    }
    const timer = setTimeout(finish, timeoutMs)
    socket.on("data", (d: Buffer) => chunks.push(d))
    socket.on("error", () => {
      closed = true
    })
    socket.on("close", () => {
      closed = true
      finish()
    })
    socket.on("connect", () => {
      socket.write(payload, () => {})
    })
  })

/** A request as a browser would send it, with `Connection: close`. */
export const httpGet = (path: string, host: string, extraHeaders = ""): string =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extraHeaders}Connection: close\r\n\r\n`

export interface Slowloris {
  /** Connections still open (not closed by the server). */
  readonly open: () => number
  readonly stop: () => void
}

/**
 * Opens `count` connections that send a request line and then one header line every `everyMs`
 * without ever ending the headers, for at most `maxMs`.
 */
export const slowloris = (host: string, port: number, count: number, everyMs: number, maxMs: number): Slowloris => {
  const sockets: Array<net.Socket> = []
  const timers: Array<NodeJS.Timeout> = []
  for (let i = 0; i < count; i++) {
    const s = net.connect({ host, port })
    s.on("error", () => {})
    s.on("connect", () => s.write(`GET /auth/callback?state=slow${i} HTTP/1.1\r\nHost: localhost:${port}\r\n`))
    sockets.push(s)
    timers.push(setInterval(() => {
      if (!s.destroyed) s.write(`X-Slow-${i}: ${Date.now()}\r\n`)
    }, everyMs))
  }
  const stop = () => {
    for (const t of timers) clearInterval(t)
    for (const s of sockets) s.destroy()
  }
  const cap = setTimeout(stop, maxMs)
  cap.unref()
  return { open: () => sockets.filter((s) => !s.destroyed && !s.closed).length, stop }
}

const hexToIpv4 = (hex: string): string =>
  [hex.slice(6, 8), hex.slice(4, 6), hex.slice(2, 4), hex.slice(0, 2)].map((h) => Number.parseInt(h, 16)).join(".")

const hexToIpv6 = (hex: string): string => {
  // Four 32-bit words, each in host (little-endian) byte order.
  const bytes: Array<number> = []
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8)
    for (let b = 3; b >= 0; b--) bytes.push(Number.parseInt(word.slice(b * 2, b * 2 + 2), 16))
  }
  const groups: Array<string> = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16))
  const full = groups.join(":")
  // The two addresses that matter here get their usual names; anything else stays uncompressed.
  return full === "0:0:0:0:0:0:0:0" ? "::" : full === "0:0:0:0:0:0:0:1" ? "::1" : full
}

/** The local addresses the kernel has in LISTEN state on `port` (IPv4 and IPv6), e.g. `127.0.0.1`, `::1`, `0.0.0.0`, `::`. */
export const listeningAddresses = (port: number): Array<string> => {
  const out: Array<string> = []
  for (const [file, toIp] of [["/proc/net/tcp", hexToIpv4], ["/proc/net/tcp6", hexToIpv6]] as const) {
    let text: string
    try {
      text = fs.readFileSync(file, "utf8")
    } catch {
      continue
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/)
      const local = cols[1]
      if (local === undefined || cols[3] !== "0A") continue
      const [ipHex, portHex] = local.split(":")
      if (ipHex === undefined || portHex === undefined || Number.parseInt(portHex, 16) !== port) continue
      out.push(toIp(ipHex))
    }
  }
  return out
}
