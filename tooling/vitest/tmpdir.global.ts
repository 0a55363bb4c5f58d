/**
 * vitest globalSetup shared by every package: the run gets a private temporary directory
 * (`$TMPDIR/codex-auth-test-XXXXXX`) as `TMPDIR`, which the test workers inherit, so every temp
 * dir a test makes with `os.tmpdir()` is under it; teardown removes it whole. Tests still clean
 * up after themselves where they can; this catches the rest (a failed test's leftovers, a
 * property test's hundreds of homes) without deleting anything another run on the machine made.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export default function setup(): () => void {
  // One directory per run, also when the root config runs every package as a project.
  if (process.env["CODEX_AUTH_TEST_TMPDIR"] !== undefined) return () => {}
  const previous = process.env["TMPDIR"]
  const dir = mkdtempSync(join(tmpdir(), "codex-auth-test-"))
  // Traversable like /tmp (tests run the CLI as another user); what tests create in it is theirs (mkdtemp: 0700).
  chmodSync(dir, 0o755)
  process.env["TMPDIR"] = dir
  process.env["CODEX_AUTH_TEST_TMPDIR"] = dir
  return () => {
    delete process.env["CODEX_AUTH_TEST_TMPDIR"]
    if (previous === undefined) delete process.env["TMPDIR"]
    else process.env["TMPDIR"] = previous
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
    } catch (e) {
      process.stderr.write(`warning: could not remove the test run's temporary directory ${dir}: ${(e as Error).message}\n`)
    }
  }
}
