// The quick loop from the root: `pnpm test:unit` runs every package's and app's own tests (not
// tooling/e2e, which drives the built programs: `pnpm test:e2e`, or `bash scripts/test.sh` for all).
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*"]
  }
})
