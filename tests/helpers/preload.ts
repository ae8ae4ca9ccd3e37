// Loaded before every test file: private umask, no inherited OpenClaw/AWS settings, and a throwaway
// default home so nothing a test does can touch ~/.openclaw.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

process.umask(0o077);
for (const key of Object.keys(process.env)) {
  if (key.startsWith("OPENCLAW_") || key.startsWith("AWS_")) delete process.env[key];
}
const root = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-test-"));
process.env.OPENCLAW_HOME = path.join(root, "default-home");
process.env.OPENCLAW_TEST_ROOT = root;
