// file_read, file_write, file_edit, file_list: behaviour, limits, and every path attack the other
// tenant would try — refused as results, never thrown, never a byte of the other tenant.
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { BUILTIN_TOOLS } from "../../../../src/modules/agents/tools/registry.ts";
import { toolWorld } from "./world.ts";

const w = toolWorld();
afterAll(() => w.core.close());
const alpha = w.ctx("alpha");
const ws = w.workspace("alpha");
const betaWs = w.workspace("beta");
fs.writeFileSync(path.join(betaWs, "secret.txt"), "BETA-SECRET\n");

describe("the registry", () => {
  test("lists the nine built-in tools, each with a strict JSON Schema bounding every string and number", () => {
    expect(BUILTIN_TOOLS.map((t) => t.name).sort()).toEqual(["exec", "file_edit", "file_list", "file_read", "file_search", "file_write", "http_fetch", "session_history", "sessions_list"]);
    const visit = (s: any, where: string) => {
      if (s.type === "object") expect({ where, additionalProperties: s.additionalProperties ?? (s.patternProperties || s.maxProperties ? "record" : undefined) }).not.toEqual({ where, additionalProperties: undefined });
      if (s.type === "object" && s.additionalProperties !== false) expect({ where, maxProperties: s.maxProperties }).not.toEqual({ where, maxProperties: undefined });
      if (s.type === "string" && !s.enum && s.const === undefined) expect({ where, bounded: s.maxLength !== undefined || s.pattern !== undefined }).toEqual({ where, bounded: true });
      if (s.type === "integer" || s.type === "number") expect({ where, max: s.maximum }).not.toEqual({ where, max: undefined });
      if (s.type === "array") expect({ where, maxItems: s.maxItems }).not.toEqual({ where, maxItems: undefined });
      for (const [k, v] of Object.entries(s.properties ?? {})) visit(v, `${where}.${k}`);
      if (s.items) visit(s.items, `${where}[]`);
      for (const v of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) visit(v, where);
      for (const v of Object.values(s.patternProperties ?? {})) visit(v, `${where}{}`);
    };
    for (const t of BUILTIN_TOOLS) {
      expect(t.parameters.type).toBe("object");
      expect(t.parameters.additionalProperties).toBe(false);
      visit(t.parameters, t.name);
      expect(JSON.stringify(t.parameters)).toBe(JSON.stringify(JSON.parse(JSON.stringify(t.parameters))));
    }
  });

  test("bad arguments are results naming the problem, never throws", async () => {
    for (const [name, args, why] of [
      ["file_read", {}, /path/],
      ["file_read", { path: "a", extra: 1 }, /extra|Unexpected|additional/i],
      ["file_read", { path: "a", limit: 0 }, /limit/],
      ["file_write", { path: "a", content: 5 }, /content/],
      ["file_edit", { path: "a", edits: [] }, /edits/],
      ["exec", { command: [] }, /command/],
      ["http_fetch", { url: "http://x", method: "DELETE" }, /method/],
      ["session_history", { sessionKey: "../x" }, /sessionKey/],
    ] as const) {
      const r = await w.call(name, args as Record<string, unknown>, alpha);
      expect({ name, isError: r.isError }).toEqual({ name, isError: true });
      expect(r.content).toMatch(/^INVALID_PARAMS: /);
      expect(r.content).toMatch(why);
    }
  });
});

describe("file_read", () => {
  test("reads lines with offset and limit, and says where to continue", async () => {
    fs.writeFileSync(path.join(ws, "lines.txt"), Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join("\n") + "\n");
    expect(await w.call("file_read", { path: "lines.txt" }, alpha)).toEqual({ content: Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join("\n"), isError: false, truncated: false });
    const part = await w.call("file_read", { path: "lines.txt", offset: 3, limit: 2 }, alpha);
    expect(part.content).toStartWith("line 3\nline 4\n[output truncated");
    expect(part.content).toContain("continue with offset 5");
    expect(part.truncated).toBe(true);
    expect((await w.call("file_read", { path: "lines.txt", offset: 50 }, alpha)).content).toContain("past the end");
  });

  test("output is capped at the agent's maxOutputBytes and marked, on a character boundary", async () => {
    fs.writeFileSync(path.join(ws, "big.txt"), "é".repeat(50_000) + "\n" + "x\n".repeat(1000));
    const r = await w.call("file_read", { path: "big.txt" }, w.ctx("alpha", { maxOutputBytes: 4096 }));
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.content)).toBeLessThanOrEqual(4096);
    expect(r.content).toContain("[output truncated");
    expect(r.content).not.toContain("\uFFFD");
  });

  test("binary files are described, not shown", async () => {
    fs.writeFileSync(path.join(ws, "blob.bin"), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0xff, 0xfe]));
    const r = await w.call("file_read", { path: "blob.bin" }, alpha);
    expect(r).toMatchObject({ isError: false });
    expect(r.content).toBe("blob.bin is a binary file (10 bytes); not shown");
  });

  test("injection: another tenant's files, host files and planted links are refused as results", async () => {
    fs.symlinkSync(betaWs, path.join(ws, "to-beta"));
    fs.symlinkSync(path.join(betaWs, "secret.txt"), path.join(ws, "beta-secret"));
    fs.symlinkSync("/etc/shadow", path.join(ws, "shadow"));
    fs.mkdirSync(path.join(ws, "d"), { recursive: true });
    for (const p of ["../beta/workspace/secret.txt", "../../beta/workspace/secret.txt", "/etc/shadow", "/etc/passwd", "to-beta/secret.txt", "beta-secret", "shadow", "d/../../beta/workspace/secret.txt", "d/../to-beta/secret.txt", "secret.txt\u0000", "%2e%2e/beta/workspace/secret.txt"]) {
      const r = await w.call("file_read", { path: p }, alpha);
      expect({ p, isError: r.isError }).toEqual({ p, isError: true });
      expect(r.content).not.toContain("BETA-SECRET");
      expect(r.content).not.toMatch(/root:/);
      expect(r.content).toMatch(/^(INVALID_PARAMS|NOT_FOUND): /);
    }
    // The same file is readable by its owner: the refusals above are about the path, not the file.
    expect((await w.call("file_read", { path: "secret.txt" }, w.ctx("beta"))).content).toBe("BETA-SECRET");
  });
});

describe("file_write", () => {
  test("overwrite, create, append; parents created", async () => {
    expect(await w.call("file_write", { path: "new/dir/a.txt", content: "one\n" }, alpha)).toMatchObject({ isError: false, content: "wrote 4 bytes to new/dir/a.txt (now 4 bytes)" });
    expect(await w.call("file_write", { path: "new/dir/a.txt", content: "two\n", mode: "append" }, alpha)).toMatchObject({ isError: false });
    expect(fs.readFileSync(path.join(ws, "new/dir/a.txt"), "utf8")).toBe("one\ntwo\n");
    const again = await w.call("file_write", { path: "new/dir/a.txt", content: "x", mode: "create" }, alpha);
    expect(again).toMatchObject({ isError: true });
    expect(again.content).toContain("already exists");
    expect(fs.readFileSync(path.join(ws, "new/dir/a.txt"), "utf8")).toBe("one\ntwo\n");
  });

  test("injection: writing through a planted link or outside the workspace is refused and writes nothing there", async () => {
    fs.symlinkSync(betaWs, path.join(ws, "w-to-beta"));
    fs.symlinkSync(path.join(betaWs, "secret.txt"), path.join(ws, "w-beta-secret"));
    for (const p of ["w-to-beta/planted.txt", "w-beta-secret", "../beta/workspace/planted.txt", "/tmp/planted.txt"]) {
      for (const mode of ["overwrite", "append", "create"]) {
        const r = await w.call("file_write", { path: p, content: "PWNED", mode }, alpha);
        expect({ p, mode, isError: r.isError }).toEqual({ p, mode, isError: true });
      }
    }
    expect(fs.readFileSync(path.join(betaWs, "secret.txt"), "utf8")).toBe("BETA-SECRET\n");
    expect(fs.existsSync(path.join(betaWs, "planted.txt"))).toBe(false);
    expect(fs.existsSync("/tmp/planted.txt")).toBe(false);
    expect(fs.lstatSync(path.join(ws, "w-beta-secret")).isSymbolicLink()).toBe(true);
  });

  test("the tenant's disk limit applies: a write past it is a QUOTA_EXCEEDED result", async () => {
    const small = toolWorld({ sandbox: { limits: { diskMb: 1 } } });
    try {
      small.workspace("alpha");
      const r = await small.call("file_write", { path: "huge.txt", content: "x".repeat(2 * 1024 * 1024) }, small.ctx("alpha"));
      expect(r.isError).toBe(true);
      expect(r.content).toMatch(/^QUOTA_EXCEEDED: /);
      expect(fs.existsSync(path.join(small.workspace("alpha"), "huge.txt"))).toBe(false);
    } finally {
      small.core.close();
    }
  });
});

describe("file_edit", () => {
  test("applies exact replacements in order, all or nothing", async () => {
    fs.writeFileSync(path.join(ws, "e.txt"), "alpha beta gamma\nbeta again\n");
    const r = await w.call("file_edit", { path: "e.txt", edits: [{ oldText: "gamma", newText: "GAMMA" }, { oldText: "beta again", newText: "done" }] }, alpha);
    expect(r).toMatchObject({ isError: false });
    expect(fs.readFileSync(path.join(ws, "e.txt"), "utf8")).toBe("alpha beta GAMMA\ndone\n");
    // The second edit is ambiguous, the third missing: named, and the first is not applied either.
    fs.writeFileSync(path.join(ws, "e.txt"), "x y x\n");
    const twice = await w.call("file_edit", { path: "e.txt", edits: [{ oldText: "y", newText: "Y" }, { oldText: "x", newText: "X" }] }, alpha);
    expect(twice.isError).toBe(true);
    expect(twice.content).toContain("edit 2 of 2: oldText occurs more than once");
    const missing = await w.call("file_edit", { path: "e.txt", edits: [{ oldText: "y", newText: "Y" }, { oldText: "nope", newText: "N" }] }, alpha);
    expect(missing.content).toContain("edit 2 of 2: oldText was not found");
    expect(fs.readFileSync(path.join(ws, "e.txt"), "utf8")).toBe("x y x\n");
  });

  test("injection: editing through a link is refused; the target is unchanged", async () => {
    fs.symlinkSync(path.join(betaWs, "secret.txt"), path.join(ws, "e-link"));
    const r = await w.call("file_edit", { path: "e-link", edits: [{ oldText: "BETA", newText: "PWNED" }] }, alpha);
    expect(r.isError).toBe(true);
    expect(fs.readFileSync(path.join(betaWs, "secret.txt"), "utf8")).toBe("BETA-SECRET\n");
    const r2 = await w.call("file_edit", { path: "../beta/workspace/secret.txt", edits: [{ oldText: "BETA", newText: "PWNED" }] }, alpha);
    expect(r2.isError).toBe(true);
    expect(fs.readFileSync(path.join(betaWs, "secret.txt"), "utf8")).toBe("BETA-SECRET\n");
  });
});

describe("file_list", () => {
  test("lists bounded, links shown and not followed; never outside", async () => {
    const d = path.join(ws, "listme");
    fs.mkdirSync(d);
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(d, `f${String(i).padStart(2, "0")}.txt`), "x");
    fs.mkdirSync(path.join(d, "sub"));
    fs.symlinkSync(betaWs, path.join(d, "zz-beta"));
    const all = await w.call("file_list", { path: "listme" }, alpha);
    expect(all.content).toContain("listme: 32 entries");
    expect(all.content).toContain("sub/");
    expect(all.content).toContain(`zz-beta -> ${betaWs} (link)`);
    const some = await w.call("file_list", { path: "listme", limit: 5 }, alpha);
    expect(some.truncated).toBe(true);
    expect(some.content.split("\n").filter((l) => l.startsWith("f")).length).toBe(5);
    expect(some.content).toContain("27 more entries not shown");
    for (const p of ["listme/zz-beta", "../beta/workspace", "/etc"]) {
      const r = await w.call("file_list", { path: p }, alpha);
      expect({ p, isError: r.isError }).toEqual({ p, isError: true });
      expect(r.content).not.toContain("secret.txt");
    }
  });
});
