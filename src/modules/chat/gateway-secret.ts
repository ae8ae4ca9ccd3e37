// The gateway's own secret, `<home>/gateway.key` (32 random bytes, 0600), created on first use. It
// keys the opaque per-tenant ids the gateway shows providers (chat `user`), so they are stable across
// restarts and reveal nothing of the tenant id to anyone without the file.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fsyncDir } from "../../lib/fs-durable.ts";

const SIZE = 32;

export function loadGatewaySecret(home: string): Buffer {
  const file = path.join(home, "gateway.key");
  const existing = read(file);
  if (existing) return existing;
  // Written whole under a temporary name, then linked into place: link(2) refuses to replace, so
  // two processes creating it at once agree on one key.
  const tmp = path.join(home, `.gateway.key.${process.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.writeSync(fd, crypto.randomBytes(SIZE));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
    fsyncDir(home);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  const key = read(file);
  if (!key) throw new Error(`${file} is shorter than ${SIZE} bytes; move it away to have a new one made`);
  return key;
}

function read(file: string): Buffer | null {
  let b: Buffer;
  try {
    b = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  if (b.length < SIZE) throw new Error(`${file} is shorter than ${SIZE} bytes; move it away to have a new one made`);
  return b;
}
