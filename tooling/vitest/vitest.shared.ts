import { basename } from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// CODEX_AUTH_TEST_REPORT_DIR: where scripts/test.sh collects one JSON report per package for its summary line.
const reportDir = process.env["CODEX_AUTH_TEST_REPORT_DIR"]
const reportName = `${basename(process.cwd())}${process.env["CODEX_AUTH_TEST_REPORT_SUFFIX"] ?? ""}.json`

// The workspace packages' `exports` offer their TypeScript sources under "@codex-auth/source"
// (their `import` condition is the tsc output in dist/): tests run the sources, no build needed.
// Vite's default conditions are kept (vite's defaultServerConditions / defaultClientConditions).
const source = "@codex-auth/source"

export default defineConfig({
  resolve: { conditions: [source, "module", "browser", "development|production"] },
  ssr: { resolve: { conditions: [source, "module", "node", "development|production"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // A private TMPDIR per run, removed at the end (see tmpdir.global.ts).
    globalSetup: [fileURLToPath(new URL("./tmpdir.global.ts", import.meta.url))],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: reportDir ? ["default", ["json", { outputFile: `${reportDir}/${reportName}` }]] : ["default"]
  }
})
