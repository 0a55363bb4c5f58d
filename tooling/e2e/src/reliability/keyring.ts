/**
 * A private, unlocked Secret Service for reliability tests: its own D-Bus session bus (no service
 * activation) and a throwaway gnome-keyring on it, so the tests run the same inside or outside
 * scripts/keyring-session.sh and never touch a developer's keyring. Plus a reader for Codex's
 * keyring entry of a CODEX_HOME (via `secret-tool`, a client independent of codex-auth).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CodexHome } from "@codex-auth/storage"

export interface PrivateKeyring {
  /** DBUS_SESSION_BUS_ADDRESS of the private bus. */
  readonly address: string
  readonly stop: () => void
}

export const startPrivateKeyring = async (): Promise<PrivateKeyring> => {
  const dir = fs.mkdtempSync(join(tmpdir(), "codex-auth-reliability-keyring-"))
  const children: Array<ChildProcess> = []
  const stop = () => {
    for (const c of children) c.kill("SIGKILL")
    fs.rmSync(dir, { recursive: true, force: true })
  }
  fs.writeFileSync(
    join(dir, "bus.conf"),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:dir=${dir}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>`
  )
  try {
    const bus = spawn("dbus-daemon", [`--config-file=${join(dir, "bus.conf")}`, "--nofork", "--print-address=1"], { stdio: ["ignore", "pipe", "ignore"] })
    children.push(bus)
    const address = await new Promise<string>((resolve, reject) => {
      let out = ""
      bus.stdout!.setEncoding("utf8").on("data", (d: string) => {
        out += d
        if (out.includes("\n")) resolve(out.split("\n")[0]!.trim())
      })
      bus.on("error", reject)
      bus.on("exit", (code) => reject(new Error(`dbus-daemon exited with ${code} (install dbus: scripts/system-deps.sh)`)))
    })
    fs.mkdirSync(join(dir, "data"))
    fs.mkdirSync(join(dir, "run"), { mode: 0o700 })
    const gk = spawn("gnome-keyring-daemon", ["--foreground", "--unlock", "--components=secrets"], {
      env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address, XDG_DATA_HOME: join(dir, "data"), XDG_RUNTIME_DIR: join(dir, "run") },
      stdio: ["pipe", "ignore", "ignore"]
    })
    children.push(gk)
    gk.stdin!.end("throwaway-reliability-password")
    for (let i = 0; i < 100; i++) {
      const r = spawnSync("secret-tool", ["store", "--label=probe", "codex-auth-reliability-probe", "1"], {
        env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address },
        input: "x",
        timeout: 5_000
      })
      if (r.status === 0) return { address, stop }
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error("gnome-keyring did not come up on the private bus")
  } catch (e) {
    stop()
    throw e
  }
}

/** The secret of Codex's keyring entry for `codexHome` ("" when there is none). */
export const readKeyringEntry = (address: string, codexHome: string): string =>
  spawnSync("secret-tool", ["lookup", "service", CodexHome.KEYRING_SERVICE, "username", CodexHome.keyringAccount(codexHome)], {
    env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address },
    encoding: "utf8",
    timeout: 10_000
  }).stdout
