// Hostile archives: every one is refused, with nothing written outside a temporary directory that is
// gone afterwards — no tenant, no rows, no file anywhere a path in the archive points at.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import type { Core } from "../../../src/app/core.ts";
import { baseEntries, craftArchive, TENANT_ROW, writeTemp, type CraftEntry, type CraftOptions } from "../../helpers/backup.ts";
import { operatorCtx, testCore } from "../../helpers/core.ts";

let core: Core;
let outside: string;

beforeAll(() => {
  core = testCore({ config: { backup: { maxRestoreBytes: 8 * 1024 * 1024, maxRestoreEntries: 500 } } });
  outside = fs.mkdtempSync(path.join(os.tmpdir(), "outside-"));
  fs.mkdirSync(path.join(core.home, "tenants"), { mode: 0o700 });
});
afterAll(() => core.close());

function snapshot(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}

interface Case {
  name: string;
  archive: () => Promise<Buffer>;
  message: RegExp;
}

const e = (name: string, data = "x", type: CraftEntry["type"] = "file"): CraftEntry => ({ name, data, type });
const with_ = (extra: CraftEntry[], opts: CraftOptions = {}) => () => craftArchive([...baseEntries(), ...extra], opts);

/** 200 levels of nested arrays. */
const DEEP: unknown = JSON.parse(`${"[".repeat(200)}${"]".repeat(200)}`);

function cases(): Case[] {
  return [
    { name: "path traversal with ..", archive: with_([e("tenant/../../escaped.txt")]), message: /contains "\.\."/ },
    { name: "traversal deep inside the tenant", archive: with_([e("tenant/workspace/a/../../../../escaped.txt")]), message: /contains "\.\."/ },
    { name: "traversal at the top", archive: with_([e("../escaped.txt")]), message: /contains "\.\."/ },
    { name: "an absolute path", archive: with_([e(`${outside}/absolute.txt`)]), message: /absolute/ },
    { name: "an absolute /etc path", archive: with_([e("/etc/openclaw-restore-probe")]), message: /absolute/ },
    { name: "a backslash path", archive: with_([e("tenant\\..\\..\\escaped.txt")]), message: /backslash/ },
    { name: "a symlink to the host", archive: with_([{ name: "tenant/workspace/link", type: "symlink", linkname: "/etc/passwd" }]), message: /is a symlink; only regular files and directories/ },
    {
      name: "a symlink followed by a file written through it",
      archive: with_([{ name: "tenant/workspace/out", type: "symlink", linkname: outside }, e("tenant/workspace/out/written-through.txt")]),
      message: /is a symlink/,
    },
    { name: "a hardlink to a host file", archive: with_([{ name: "tenant/workspace/hl", type: "link", linkname: "/etc/passwd" }]), message: /is a link; only regular files/ },
    { name: "a hardlink to a file inside", archive: with_([{ name: "tenant/workspace/hl", type: "link", linkname: "tenant/workspace/hello.txt" }]), message: /is a link/ },
    { name: "a character device", archive: with_([{ name: "tenant/workspace/null", type: "character-device" }]), message: /is a character-device/ },
    { name: "a block device", archive: with_([{ name: "tenant/workspace/sda", type: "block-device" }]), message: /is a block-device/ },
    { name: "a FIFO", archive: with_([{ name: "tenant/workspace/pipe", type: "fifo" }]), message: /is a fifo/ },
    { name: "the same file twice", archive: with_([e("tenant/workspace/dup.txt", "one"), e("tenant/workspace/dup.txt", "two")]), message: /appears twice/ },
    { name: "names colliding after normalisation (./)", archive: with_([e("tenant/workspace/./hello.txt", "shadow")]), message: /not in normal form/ },
    { name: "names colliding after Unicode normalisation", archive: with_([e("tenant/workspace/caf\u00e9.txt", "nfc"), e("tenant/workspace/cafe\u0301.txt", "nfd")]), message: /appears twice/ },
    { name: "an entry outside the tenant", archive: with_([e("elsewhere/evil.txt")]), message: /outside the tenant/ },
    { name: "a file inside a file", archive: with_([e("tenant/workspace/hello.txt/inner.txt")]), message: /cannot be read|not a directory|which is a file/ },
    { name: "a manifest that lies about a size", archive: with_([], { editManifest: (m) => (m.find((x) => x.path.endsWith("hello.txt"))!.size = 4) }), message: /does not match its size and SHA-256/ },
    { name: "a manifest that lies about a hash", archive: with_([], { editManifest: (m) => (m.find((x) => x.path.endsWith("hello.txt"))!.sha256 = "0".repeat(64)) }), message: /does not match/ },
    { name: "a file the manifest does not list", archive: with_([e("tenant/workspace/extra.txt")], { editManifest: (m) => void m.splice(m.findIndex((x) => x.path.endsWith("extra.txt")), 1) }), message: /not in the manifest/ },
    { name: "a manifest listing a missing file", archive: with_([], { editManifest: (m) => void m.push({ path: "tenant/workspace/ghost.txt", type: "file", size: 1, sha256: "0".repeat(64) }) }), message: /in the manifest but not in the archive/ },
    { name: "no manifest (truncated archive)", archive: with_([], { manifest: "none" }), message: /has no manifest\.json/ },
    { name: "no header first", archive: with_([], { header: "none" }), message: /the first entry is/ },
    { name: "an unknown format version", archive: with_([], { header: { format: "openclawmu-backup", version: 99, tenantId: "victim" } }), message: /format version 99/ },
    { name: "a header naming a hostile tenant id", archive: with_([], { header: { format: "openclawmu-backup", version: 1, tenantId: "../../etc" } }), message: /names no valid tenant/ },
    {
      name: "state rows of another tenant",
      archive: () => craftArchive([e("state/tenants.jsonl", `${TENANT_ROW("victim")}\n`), e("state/tenant_quotas.jsonl", `${JSON.stringify({ tenant_id: "someone-else", updated_at: 1 })}\n`)]),
      message: /a row of another tenant/,
    },
    {
      name: "a state row with an injected column name",
      archive: () => craftArchive([e("state/tenants.jsonl", `${JSON.stringify({ id: "victim", status: "active", created_at: 1, updated_at: 1, 'x") VALUES (1); DROP TABLE tenants; --': 1 })}\n`)]),
      message: /names a column/,
    },
    { name: "an unknown state table", archive: with_([e("state/audit_events.jsonl", "{}\n")]), message: /outside the tenant/ },
    { name: "a token hash that is not 32 bytes", archive: with_([e("state/tenant_tokens.jsonl", `${JSON.stringify({ tenant_id: "victim", hash: { $b64: "AAAA" }, display_prefix: "x", created_at: 1 })}\n`)]), message: /not 32 bytes/ },
    {
      name: "a zstd bomb",
      archive: async () => {
        // 64 MiB of zeros: a few KB compressed, far over the 8 MiB this gateway accepts.
        const zeros = Buffer.alloc(64 * 1024 * 1024);
        return craftArchive([...baseEntries(), { name: "tenant/workspace/bomb.bin", data: zeros }]);
      },
      message: /more than 8388608 bytes|decompression bomb/,
    },
    { name: "too many entries", archive: with_(Array.from({ length: 600 }, (_, i) => e(`tenant/workspace/f${i}`))), message: /more than 500 entries/ },
    {
      name: "a tree nested deeper than every tenant tree may be",
      // tenant/ is level 0, workspace level 1: 260 more directories go past the 256-level limit.
      archive: with_([...Array.from({ length: 260 }, (_, i) => ({ name: `tenant/workspace/${"d/".repeat(i + 1).slice(0, -1)}`, type: "directory" as const })), e(`tenant/workspace/${"d/".repeat(260)}leaf`)]),
      message: /nested more than 256 directories deep/,
    },
    // The archive's JSON gets the depth cap every JSON the gateway is sent gets (64 levels).
    { name: "a header nested 200 levels deep", archive: with_([], { header: { format: "openclawmu-backup", version: 1, tenantId: "victim", createdAt: new Date().toISOString(), x: DEEP } }), message: /openclaw-backup\.json is JSON nested deeper than 64 levels/ },
    { name: "a manifest nested 200 levels deep", archive: with_([], { editManifest: (m) => void m.push({ path: "x", type: "file", size: 0, deep: DEEP } as never) }), message: /manifest\.json is JSON nested deeper than 64 levels/ },
    {
      name: "a state row nested 200 levels deep",
      archive: () => craftArchive([e("state/tenants.jsonl", `${JSON.stringify({ ...JSON.parse(TENANT_ROW("victim")), display_name: DEEP })}\n`), ...baseEntries().slice(1)]),
      message: /state\/tenants\.jsonl has a row JSON nested deeper than 64 levels/,
    },
    {
      name: "a header whose size runs past the data (truncated mid-file)",
      archive: async () => {
        const full = zlib.zstdDecompressSync(await craftArchive([...baseEntries(), e("tenant/workspace/long.bin", "L".repeat(100_000))]));
        const at = full.indexOf(Buffer.from("LLLL"));
        return zlib.zstdCompressSync(full.subarray(0, at + 5000));
      },
      message: /cannot be read|truncated/,
    },
    { name: "not an archive at all", archive: async () => crypto.randomBytes(4096), message: /neither a zstd stream nor an encrypted backup/ },
    { name: "an empty file", archive: async () => Buffer.alloc(0), message: /neither a zstd stream/ },
  ];
}

describe("hostile archives", () => {
  test("the corpus has at least 20 archives", () => {
    expect(cases().length).toBeGreaterThanOrEqual(20);
  });

  for (const c of cases()) {
    test(`refused: ${c.name}`, async () => {
      const bytes = await c.archive();
      const file = writeTemp(bytes);
      const homeBefore = snapshot(core.home).filter((p) => !p.startsWith("audit") && !p.startsWith("state.db"));
      const outsideBefore = snapshot(outside);
      let message = "";
      try {
        await core.backups.restore(file, operatorCtx, { as: "victim" });
      } catch (err) {
        message = (err as Error).message;
      }
      expect({ case: c.name, message }).toEqual({ case: c.name, message: expect.stringMatching(c.message) });
      expect(core.tenants.exists("victim")).toBe(false);
      expect(snapshot(outside)).toEqual(outsideBefore);
      expect(snapshot(core.home).filter((p) => !p.startsWith("audit") && !p.startsWith("state.db"))).toEqual(homeBefore);
      for (const p of ["/etc/openclaw-restore-probe", path.join(os.tmpdir(), "escaped.txt"), path.join(core.home, "escaped.txt"), path.join(core.home, "tenants", "escaped.txt")]) expect(fs.existsSync(p)).toBe(false);
      expect((core.handle.sqlite.query("SELECT count(*) AS n FROM tenants").get() as { n: number }).n).toBe(0);
      const last = core.audit.query({ action: "tenant.restore" })[0];
      expect(last?.outcome).not.toBe("ok");
    }, 60_000);
  }
});
