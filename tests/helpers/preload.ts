// Loaded before every test file: private umask, no inherited OpenClaw/AWS settings, and a throwaway
// default home so nothing a test does can touch ~/.openclaw.
import { afterAll } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { removePath } from "../../src/lib/tree-remove.ts";

process.umask(0o077);
for (const key of Object.keys(process.env)) {
  if (key.startsWith("OPENCLAW_") || key.startsWith("AWS_")) delete process.env[key];
}
const root = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-test-"));
process.env.OPENCLAW_HOME = path.join(root, "default-home");
process.env.OPENCLAW_TEST_ROOT = root;
// Every temporary directory of the run (the tests' own and their child processes') goes under it too.
// Traversable by the sandbox identity, like /tmp, so workspaces and mounts made there stay reachable.
fs.chmodSync(root, 0o711);
process.env.TMPDIR = root;
// Removed when the run ends (a run leaves a few hundred MB of homes, archives and workspaces there).
// A hook in the preload runs once, after every test file.
// Through the gateway's own iterative removal: tests leave tenant trees thousands of levels deep, on
// which fs.rmSync takes minutes (red team 11 #2).
afterAll(async () => {
  if (process.env.OPENCLAW_KEEP_TEST_ROOT) return;
  try {
    await removePath(root);
  } catch {
    // best effort: a file still in use stays
  }
});
