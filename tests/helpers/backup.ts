// Backup test helpers: an S3-compatible server (s3rver, started per suite), and a crafter of
// hand-made archives — well-formed ones to tamper with, and hostile ones.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import S3rver from "s3rver";
import tar from "tar-stream";

export const S3_KEY = "S3RVER";

export interface S3World {
  endpoint: string;
  port: number;
  dir: string;
  close(): Promise<void>;
  config(extra?: Record<string, unknown>): Record<string, unknown>;
}

export async function startS3(buckets: string[] = ["backups"]): Promise<S3World> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "s3rver-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name })) });
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  return {
    endpoint,
    port: addr.port,
    dir,
    close: async () => {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    config: (extra = {}) => ({ backup: { s3: { endpoint, region: "us-east-1", forcePathStyle: true, accessKeyId: S3_KEY, secretAccessKey: S3_KEY, bucket: "backups" }, ...extra } }),
  };
}

export interface CraftEntry {
  name: string;
  type?: tar.Header["type"];
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
}

export interface CraftOptions {
  tenantId?: string;
  /** "auto" lists every file/dir entry with its real size and hash; or give entries; or leave it out. */
  manifest?: "auto" | "none" | Record<string, unknown>;
  header?: "auto" | "none" | Record<string, unknown>;
  /** Transform the manifest entries before writing (to make it lie). */
  editManifest?: (entries: { path: string; type: string; size: number; sha256?: string }[]) => void;
}

export const TENANT_ROW = (id: string) => JSON.stringify({ id, display_name: null, status: "active", created_at: 1, updated_at: 1, suspended_at: null });

/** A zstd-compressed tar built exactly as described: no checks, so it can be as hostile as needed. */
export async function craftArchive(entries: CraftEntry[], opts: CraftOptions = {}): Promise<Buffer> {
  const tenantId = opts.tenantId ?? "victim";
  const header = { format: "openclawmu-backup", version: 1, tenantId, createdAt: new Date().toISOString(), gatewayVersion: "test", schemaVersion: 4 };
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const zstd = zlib.createZstdCompress();
  pack.pipe(zstd);
  zstd.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve) => zstd.on("end", () => resolve()));
  const add = (h: Partial<tar.Header> & { name: string }, data?: Buffer) => new Promise<void>((resolve, reject) => pack.entry(h as tar.Header, data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  if (opts.header !== "none") await add({ name: "openclaw-backup.json" }, Buffer.from(JSON.stringify(opts.header === undefined || opts.header === "auto" ? header : opts.header)));
  const listed: { path: string; type: string; size: number; sha256?: string }[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    const type = e.type ?? "file";
    const h = { name: e.name, type, mode: e.mode ?? (type === "directory" ? 0o700 : 0o600), linkname: e.linkname ?? null } as tar.Header;
    if (type === "file") h.size = data?.length ?? 0;
    await add(h, type === "file" ? (data ?? Buffer.alloc(0)) : undefined);
    const clean = e.name.replace(/\/$/, "");
    if (type === "file") listed.push({ path: clean, type: "file", size: data?.length ?? 0, sha256: crypto.createHash("sha256").update(data ?? Buffer.alloc(0)).digest("hex") });
    else if (type === "directory") listed.push({ path: clean, type: "dir", size: 0 });
  }
  if (opts.manifest !== "none") {
    opts.editManifest?.(listed);
    const manifest = opts.manifest === undefined || opts.manifest === "auto" ? { ...header, entries: listed, skipped: [] } : opts.manifest;
    await add({ name: "manifest.json" }, Buffer.from(JSON.stringify(manifest)));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The minimum a valid archive holds for `tenantId`, to build hostile variants on. */
export function baseEntries(tenantId = "victim"): CraftEntry[] {
  return [
    { name: "state/tenants.jsonl", data: `${TENANT_ROW(tenantId)}\n` },
    { name: "tenant", type: "directory" },
    { name: "tenant/workspace", type: "directory" },
    { name: "tenant/workspace/hello.txt", data: "hello" },
  ];
}

export function writeTemp(bytes: Buffer, name = "archive.tar.zst"): string {
  const p = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "crafted-")), name);
  fs.writeFileSync(p, bytes);
  return p;
}
