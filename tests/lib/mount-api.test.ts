// The mount syscalls through bun:ffi keep the buffers they pass (paths, fsconfig keys, attributes)
// alive until the kernel has read them. A pointer alone does not: with a temporary buffer, a garbage
// collection between ptr() and the syscall let the kernel read freed memory — seen as an intermittent
// `fsconfig: EINVAL` while copying a sandbox mount (a path could as well have become another path).
// The race is rare (about one call in 30,000 under allocation pressure), so this loop is a guard
// that catches it often, not always, on the old code; with the buffers held it cannot happen.
// Needs root (it mounts tmpfs), like the sandbox tests.
import { expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { moveMount, superblockReadOnly, tmpfsDetached, umountDetach } from "../../src/lib/mount-api.ts";
import { openBeneath } from "../../src/lib/openat2.ts";

test("paths and keys passed to the kernel stay valid under allocation pressure", () => {
  const dir = fs.mkdtempSync(path.join(process.env.OPENCLAW_TEST_ROOT ?? os.tmpdir(), "mount-api-"));
  fs.writeFileSync(path.join(dir, "f"), "x");
  const dirFd = fs.openSync(dir, "r");
  const failures: string[] = [];
  let junk: Buffer[] = [];
  for (let i = 0; i < 15_000; i++) {
    try {
      const m = tmpfsDetached({ size: "65536", nr_inodes: "64", mode: "0700" }, 0);
      superblockReadOnly(m);
      fs.closeSync(m);
      fs.closeSync(openBeneath(dirFd, "f", fs.constants.O_RDONLY));
      if (i % 100 === 0) {
        const t = tmpfsDetached({ size: "4096" }, 0);
        moveMount(t, dir);
        fs.closeSync(t);
        umountDetach(dir);
      }
    } catch (err) {
      failures.push(String(err));
    }
    for (let k = 0; k < 200; k++) junk.push(Buffer.from(`garbage ${i} ${k} `.repeat(4)));
    if (junk.length > 20_000) junk = [];
  }
  fs.closeSync(dirFd);
  expect(failures.slice(0, 5)).toEqual([]);
}, 60_000);
