// File tools over the workspace: the RPC surface, a hostile path corpus through every operation,
// planted symlinks and FIFOs, and a sandbox-style race that swaps a directory for a symlink while the
// gateway reads and writes through it. Nothing may ever land or be read outside the workspace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import fc from "fast-check";
import type { Core } from "../../../src/app/core.ts";
import { AppError } from "../../../src/core/errors.ts";
import { FILES_LIMITS } from "../../../src/modules/files/files.service.ts";
import { PathError } from "../../../src/modules/paths/path-resolver.ts";
import { sandboxIdentity } from "../../../src/modules/sandbox/host.ts";
import { createTenant, makeHome, testApp, testCore, scope } from "../../helpers/core.ts";

let core: Core;
let token: string;
let ws: string;
let outside: string;
let rpc: ReturnType<typeof testApp>["rpc"];

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    out[path.relative(dir, p)] = e.isSymbolicLink() ? `link:${fs.readlinkSync(p)}` : e.isFile() ? fs.readFileSync(p, "utf8") : "dir";
  }
  return out;
}

beforeAll(() => {
  core = testCore();
  token = createTenant(core, "alpha");
  createTenant(core, "beta");
  ws = path.join(core.tenants.dir(scope("alpha")), "workspace");
  outside = fs.realpathSync(makeHome());
  fs.writeFileSync(path.join(outside, "canary.txt"), "OUTSIDE");
  fs.mkdirSync(path.join(outside, "sub"));
  fs.writeFileSync(path.join(outside, "sub", "canary.txt"), "OUTSIDE");
  fs.writeFileSync(path.join(core.tenants.dir(scope("beta")), "workspace", "secret.txt"), "beta's secret");
  fs.mkdirSync(path.join(ws, "docs"));
  fs.writeFileSync(path.join(ws, "docs", "a.txt"), "mine");
  fs.symlinkSync("/etc", path.join(ws, "etc-link"));
  fs.symlinkSync(outside, path.join(ws, "out-link"));
  fs.symlinkSync(path.join(outside, "canary.txt"), path.join(ws, "canary-link"));
  fs.symlinkSync("..", path.join(ws, "up"));
  fs.symlinkSync("../../beta/workspace", path.join(ws, "beta-rel"));
  fs.symlinkSync("/", path.join(ws, "root-link"));
  fs.symlinkSync("docs", path.join(ws, "docs-link"));
  fs.symlinkSync("docs/a.txt", path.join(ws, "a-link"));
  fs.symlinkSync("loop", path.join(ws, "loop"));
  Bun.spawnSync(["mkfifo", path.join(ws, "fifo")]);
  rpc = testApp(core).rpc;
});

afterAll(() => core.close());

describe("files over RPC", () => {
  test("write, read, list, stat and delete round trip, text and binary", async () => {
    const w = await rpc(token, "files.write", { path: "notes/today.txt", content: "hello\n", mkdirs: true });
    expect(w.error).toBeUndefined();
    expect(w.result).toMatchObject({ path: "notes/today.txt", size: 6 });
    expect((await rpc(token, "files.read", { path: "notes/today.txt" })).result).toMatchObject({ content: "hello\n", size: 6, truncated: false, encoding: "utf8" });
    const bin = Buffer.from([0, 255, 1, 254, 10, 13]);
    await rpc(token, "files.write", { path: "notes/blob.bin", content: bin.toString("base64"), encoding: "base64" });
    const rb = await rpc(token, "files.read", { path: "notes/blob.bin", encoding: "base64" });
    expect(Buffer.from(rb.result.content, "base64")).toEqual(bin);
    const ls = await rpc(token, "files.list", { path: "notes" });
    expect(ls.result.entries.map((e: { path: string; kind: string }) => [e.path, e.kind])).toEqual([
      ["blob.bin", "file"],
      ["today.txt", "file"],
    ]);
    expect((await rpc(token, "files.stat", { path: "notes" })).result).toMatchObject({ kind: "directory" });
    expect((await rpc(token, "files.delete", { path: "notes", recursive: true })).result).toMatchObject({ deleted: true, kind: "directory" });
    expect((await rpc(token, "files.stat", { path: "notes" })).error.data.code).toBe("NOT_FOUND");
  });

  test("create refuses an existing file; append appends; offset and length page through a file", async () => {
    await rpc(token, "files.write", { path: "log.txt", content: "one\n" });
    expect((await rpc(token, "files.write", { path: "log.txt", content: "x", mode: "create" })).error.data.code).toBe("CONFLICT");
    await rpc(token, "files.write", { path: "log.txt", content: "two\n", mode: "append" });
    expect((await rpc(token, "files.read", { path: "log.txt" })).result.content).toBe("one\ntwo\n");
    expect((await rpc(token, "files.read", { path: "log.txt", offset: 4, length: 2 })).result).toMatchObject({ content: "tw", truncated: true, size: 8 });
    expect((await rpc(token, "files.read", { path: "log.txt", offset: 100 })).result).toMatchObject({ content: "", truncated: false });
  });

  test("bad input names the problem", async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ path: "../x", content: "" }, "INVALID_PARAMS", /\.\./],
      [{ path: "/etc/passwd", content: "" }, "INVALID_PARAMS", /absolute/],
      [{ path: "a\\b", content: "" }, "INVALID_PARAMS", /backslash/],
      [{ path: "x", content: "!!!", encoding: "base64" }, "INVALID_PARAMS", /base64/],
      [{ path: "missing/dir/x", content: "" }, "NOT_FOUND", /does not exist/],
      [{ path: "docs", content: "" }, "CONFLICT", /directory/],
    ];
    for (const [params, code, message] of cases) {
      const r = await rpc(token, "files.write", params);
      expect({ params, code: r.error?.data?.code }).toEqual({ params, code });
      expect(r.error.message).toMatch(message);
    }
    expect((await rpc(token, "files.delete", { path: "docs" })).error.data.code).toBe("CONFLICT");
  });

  test("size caps: reads are capped per call, writes refused above the cap", () => {
    const big = Buffer.alloc(FILES_LIMITS.maxWriteBytes + 1, 1);
    expect(() => core.files.write(scope("alpha"), "big.bin", big)).toThrow("larger than");
    core.files.write(scope("alpha"), "big.bin", big.subarray(0, FILES_LIMITS.maxWriteBytes));
    const r = core.files.read(scope("alpha"), "big.bin", { length: FILES_LIMITS.maxReadBytes * 4 });
    expect(r.bytes.length).toBe(FILES_LIMITS.maxReadBytes);
    core.files.delete(scope("alpha"), "big.bin");
  });
});

describe("links, FIFOs and ownership", () => {
  test("symlinks out of the workspace are refused on every operation; links are described, never followed", () => {
    const refused = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err instanceof PathError || err instanceof AppError).toBe(true);
        return (err as Error).message;
      }
      throw new Error("expected a refusal");
    };
    expect(refused(() => core.files.read(scope("alpha"), "etc-link/passwd"))).toMatch(/outside the workspace/);
    expect(refused(() => core.files.read(scope("alpha"), "out-link/canary.txt"))).toMatch(/outside the workspace/);
    expect(refused(() => core.files.read(scope("alpha"), "canary-link"))).toMatch(/not followed/);
    expect(refused(() => core.files.read(scope("alpha"), "up/workspace/docs/a.txt"))).toMatch(/outside the workspace/);
    expect(refused(() => core.files.read(scope("alpha"), "beta-rel/secret.txt"))).toMatch(/outside the workspace/);
    expect(refused(() => core.files.read(scope("alpha"), "root-link/etc/hostname"))).toMatch(/outside the workspace/);
    expect(refused(() => core.files.write(scope("alpha"), "out-link/planted.txt", Buffer.from("x")))).toMatch(/outside the workspace/);
    expect(refused(() => core.files.write(scope("alpha"), "canary-link", Buffer.from("x")))).toMatch(/not followed/);
    expect(refused(() => core.files.list(scope("alpha"), "out-link"))).toMatch(/outside the workspace/);
    expect(refused(() => core.files.delete(scope("alpha"), "out-link/canary.txt"))).toMatch(/outside the workspace/);
    expect(refused(() => core.files.read(scope("alpha"), "a-link"))).toMatch(/not followed/);
    // Inside-pointing directory links may be walked through (they stay beneath the workspace).
    expect(new TextDecoder().decode(core.files.read(scope("alpha"), "docs-link/a.txt").bytes)).toBe("mine");
    expect(core.files.stat(scope("alpha"), "canary-link")).toMatchObject({ kind: "symlink", target: path.join(outside, "canary.txt") });
    // Deleting a link removes the link, not what it points at.
    core.files.delete(scope("alpha"), "canary-link");
    expect(fs.readFileSync(path.join(outside, "canary.txt"), "utf8")).toBe("OUTSIDE");
    fs.symlinkSync(path.join(outside, "canary.txt"), path.join(ws, "canary-link"));
  });

  test("a recursive delete never follows a link inside the tree", async () => {
    fs.mkdirSync(path.join(ws, "tree/deeper"), { recursive: true });
    fs.symlinkSync(outside, path.join(ws, "tree/deeper/out"));
    fs.writeFileSync(path.join(ws, "tree/file"), "x");
    await core.files.delete(scope("alpha"), "tree", { recursive: true });
    expect(fs.existsSync(path.join(ws, "tree"))).toBe(false);
    expect(snapshot(outside)).toEqual({ "canary.txt": "OUTSIDE", sub: "dir", "sub/canary.txt": "OUTSIDE" });
  });

  test("a FIFO in the workspace is refused at once instead of hanging the gateway", () => {
    const started = performance.now();
    expect(() => core.files.read(scope("alpha"), "fifo")).toThrow("not a regular file");
    expect(() => core.files.write(scope("alpha"), "fifo", Buffer.from("x"), { mode: "append" })).toThrow();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("new files and directories belong to the sandbox's identity", () => {
    core.files.write(scope("alpha"), "owned/x.txt", Buffer.from("x"), { mkdirs: true });
    const id = sandboxIdentity();
    for (const p of ["owned", "owned/x.txt"]) {
      const st = fs.statSync(path.join(ws, p));
      expect({ p, uid: st.uid, gid: st.gid }).toEqual({ p, uid: id.uid, gid: id.gid });
    }
    core.files.delete(scope("alpha"), "owned", { recursive: true });
  });
});

describe("hostile paths through every operation", () => {
  test("generated paths: every call is refused or stays inside the workspace", () => {
    const before = snapshot(outside);
    const betaBefore = snapshot(path.join(core.tenants.dir(scope("beta")), "workspace"));
    const segment = fc.constantFrom("..", ".", "", "etc-link", "out-link", "up", "beta-rel", "root-link", "docs", "docs-link", "a-link", "loop", "fifo", "canary-link", "x", "passwd", "secret.txt", "canary.txt", "%2e%2e", "a\\b", "\u0000", "/");
    const userPath = fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => s.join("/"));
    let refusals = 0;
    let calls = 0;
    fc.assert(
      fc.property(userPath, fc.constantFrom("read", "write", "list", "stat", "delete"), (p, op) => {
        calls++;
        try {
          if (op === "read") {
            const r = core.files.read(scope("alpha"), p);
            expect(new TextDecoder().decode(r.bytes)).not.toContain("OUTSIDE");
            expect(new TextDecoder().decode(r.bytes)).not.toContain("beta's secret");
          } else if (op === "write") core.files.write(scope("alpha"), p, Buffer.from("generated"), { mkdirs: true });
          else if (op === "list") {
            // What was listed is a directory inside the workspace, entry for entry.
            const r = core.files.list(scope("alpha"), p);
            const real = fs.realpathSync(path.join(ws, r.path));
            expect(real === fs.realpathSync(ws) || real.startsWith(`${fs.realpathSync(ws)}/`)).toBe(true);
            expect(r.entries.map((e) => e.path)).toEqual(fs.readdirSync(real).sort());
          }
          else if (op === "stat") core.files.stat(scope("alpha"), p);
          else core.files.delete(scope("alpha"), p, { recursive: false });
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          refusals++;
        }
      }),
      { numRuns: 3000 },
    );
    expect(calls).toBe(3000);
    expect(refusals).toBeGreaterThan(1000);
    expect(snapshot(outside)).toEqual(before);
    expect(snapshot(path.join(core.tenants.dir(scope("beta")), "workspace"))).toEqual(betaBefore);
    expect(fs.readFileSync("/etc/hostname", "utf8").length).toBeGreaterThan(0);
  });
});

describe("a sandbox racing the gateway", () => {
  test("swapping a directory for a symlink mid-operation never redirects a read or write outside", async () => {
    const swap = path.join(ws, "swap");
    const real = path.join(ws, "swap-real");
    fs.mkdirSync(real, { recursive: true });
    fs.writeFileSync(path.join(real, "canary.txt"), "inside");
    // A separate process flips swap between the real directory and a link to the outside, as fast as
    // it can, the way a tenant's sandbox could (it shares the workspace).
    const script = `
      const fs = require("fs");
      const [swap, real, outside] = process.argv.slice(1);
      const tmpLink = swap + ".l", tmpDir = swap + ".d";
      const end = Date.now() + 4000;
      while (Date.now() < end) {
        try { fs.symlinkSync(outside, tmpLink); fs.renameSync(tmpLink, swap); } catch {}
        try { fs.rmSync(tmpLink, { force: true }); fs.symlinkSync(real, tmpDir); } catch {}
        try { fs.renameSync(tmpDir, swap); } catch {}
      }`;
    const racer = Bun.spawn(["bun", "-e", script, swap, "swap-real", outside], { stdout: "ignore", stderr: "ignore" });
    let reads = 0;
    let writes = 0;
    const deadline = performance.now() + 3000;
    while (performance.now() < deadline) {
      try {
        const text = new TextDecoder().decode(core.files.read(scope("alpha"), "swap/canary.txt").bytes);
        expect(text).toBe("inside");
        reads++;
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
      }
      try {
        core.files.write(scope("alpha"), "swap/planted.txt", Buffer.from("x"));
        writes++;
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
      }
      await Bun.sleep(0);
    }
    racer.kill();
    await racer.exited;
    expect(reads + writes).toBeGreaterThan(50);
    expect(fs.existsSync(path.join(outside, "planted.txt"))).toBe(false);
    expect(fs.readFileSync(path.join(outside, "canary.txt"), "utf8")).toBe("OUTSIDE");
  }, 20_000);
});
