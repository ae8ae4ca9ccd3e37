// The in-sandbox mount check on its own (what an unprivileged gateway relies on): run under a bare
// bwrap with a directory at /mnt/x and the environment file at /run/oc-env, the command starts only
// when /mnt/x is the object with the given device and inode, and only then gets its variables.
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ENV_FILE_IN_SANDBOX, envScript, MOUNT_CHANGED, withMountCheck } from "../../../src/modules/sandbox/mounts.ts";

function inBwrap(dir: string, envFile: string, command: string[]) {
  const r = Bun.spawnSync(
    ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/mnt", "--ro-bind", dir, "/mnt/x", "--tmpfs", "/run", "--ro-bind", envFile, ENV_FILE_IN_SANDBOX, "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--", ...command],
    { stdout: "pipe", stderr: "pipe" },
  );
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("the mount check", () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "mount-check-"));
  const dir = path.join(base, "x");
  fs.mkdirSync(dir);
  const other = path.join(base, "other");
  fs.mkdirSync(other);
  const st = fs.statSync(dir);
  const envFile = path.join(base, "env");
  const tricky = "it's \"q\"\n$HOME `x` \\ line two";
  fs.writeFileSync(envFile, envScript({ TRICKY: tricky, LD_PRELOAD: "" }));
  const command = ["/bin/sh", "-c", 'printf "ran:%s" "$TRICKY"'];

  test("the checked object: the command runs, with the tenant's variables sourced after the check", () => {
    const r = inBwrap(dir, envFile, withMountCheck([{ target: "/mnt/x", id: `${st.dev}:${st.ino}` }], command));
    expect(r).toEqual({ code: 0, stdout: `ran:${tricky}`, stderr: "" });
  });

  test("another object at the target: exit 125 with the marker, the command never starts", () => {
    const r = inBwrap(other, envFile, withMountCheck([{ target: "/mnt/x", id: `${st.dev}:${st.ino}` }], command));
    expect(r).toEqual({ code: 125, stdout: "", stderr: `${MOUNT_CHANGED}\n` });
  });

  test("targets are checked before they reach the script", () => {
    expect(() => withMountCheck([{ target: "/mnt/x; rm -rf /", id: "1:1" }], command)).toThrow("unexpected mount target");
    expect(() => envScript({ "A B": "x" })).toThrow("unexpected environment variable");
    expect(withMountCheck([], command)).toEqual(command);
  });
});
