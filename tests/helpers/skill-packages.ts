// Hostile and ordinary skill and plugin packages for the tests: tar (plain or gzip) built with
// tar-stream exactly as described, and zip built byte by byte (any name, type, size or method), with
// no checks, so each can be as hostile as a test needs.
import zlib from "node:zlib";
import tar from "tar-stream";

export interface TarEntry {
  name: string;
  type?: tar.Header["type"];
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  /** Declared size when it should differ from the data's. */
  size?: number;
}

export async function craftTar(entries: TarEntry[], opts: { gzip?: boolean } = {}): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => pack.on("end", () => resolve()));
  for (const e of entries) {
    const type = e.type ?? "file";
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    const h = { name: e.name, type, mode: e.mode ?? (type === "directory" ? 0o755 : 0o644), linkname: e.linkname ?? null, size: type === "file" ? (e.size ?? data.length) : 0 } as tar.Header;
    await new Promise<void>((resolve, reject) => {
      if (type === "file") pack.entry(h, data, (err) => (err ? reject(err) : resolve()));
      else pack.entry(h, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  const t = Buffer.concat(chunks);
  return opts.gzip ? zlib.gzipSync(t) : t;
}

export interface ZipEntry {
  name: string;
  data?: Buffer | string;
  /** Unix mode with file type bits (0o100644 a file, 0o120777 a link, 0o040755 a folder). */
  mode?: number;
  method?: 0 | 8 | 12;
  /** Declared uncompressed size when it should lie. */
  size?: number;
  encrypted?: boolean;
}

export function craftZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const cens: Buffer[] = [];
  let off = 0;
  for (const e of entries) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    const method = e.method ?? 8;
    const comp = method === 8 ? zlib.deflateRawSync(data) : data;
    const name = Buffer.from(e.name, "utf8");
    const crc = zlib.crc32(data) >>> 0;
    const usize = e.size ?? data.length;
    const loc = Buffer.alloc(30);
    loc.writeUInt32LE(0x04034b50, 0);
    loc.writeUInt16LE(20, 4);
    loc.writeUInt16LE((e.encrypted ? 1 : 0) | 0x800, 6);
    loc.writeUInt16LE(method, 8);
    loc.writeUInt32LE(crc, 14);
    loc.writeUInt32LE(comp.length, 18);
    loc.writeUInt32LE(usize, 22);
    loc.writeUInt16LE(name.length, 26);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(0x02014b50, 0);
    cen.writeUInt16LE((3 << 8) | 20, 4);
    cen.writeUInt16LE(20, 6);
    cen.writeUInt16LE((e.encrypted ? 1 : 0) | 0x800, 8);
    cen.writeUInt16LE(method, 10);
    cen.writeUInt32LE(crc, 16);
    cen.writeUInt32LE(comp.length, 20);
    cen.writeUInt32LE(usize, 24);
    cen.writeUInt16LE(name.length, 28);
    cen.writeUInt32LE(((e.mode ?? (e.name.endsWith("/") ? 0o040755 : 0o100644)) << 16) >>> 0, 38);
    cen.writeUInt32LE(off, 42);
    locals.push(loc, name, comp);
    cens.push(cen, name);
    off += 30 + name.length + comp.length;
  }
  const cenBuf = Buffer.concat(cens);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cenBuf.length, 12);
  end.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cenBuf, end]);
}

export const skillMd = (name: string, description = `The ${name} skill.`, body = `Instructions for ${name}.\n`) => `---\nname: ${name}\ndescription: ${description}\n---\n${body}`;

export const manifest = (name: string, over: Record<string, unknown> = {}) =>
  JSON.stringify({
    name,
    description: `The ${name} plugin.`,
    tools: [{ name: "echo", description: "Echoes its arguments", inputSchema: { type: "object", properties: { text: { type: "string" } } }, command: ["/bin/sh", "/mnt/plugin/run.sh"] }],
    ...over,
  });

/** A good skill as a tar.gz (inside a folder of its name, as people pack them). */
export const goodSkill = (name = "notes", extra: TarEntry[] = []) =>
  craftTar([{ name: `${name}/`, type: "directory" }, { name: `${name}/SKILL.md`, data: skillMd(name) }, { name: `${name}/scripts/`, type: "directory" }, { name: `${name}/scripts/hello.sh`, data: "echo hello from the skill\n", mode: 0o755 }, ...extra], { gzip: true });

/** A good plugin: its tool prints what it read on stdin, prefixed. */
export const goodPlugin = (name = "echoer") => craftTar([{ name: "openclaw.plugin.json", data: manifest(name) }, { name: "run.sh", data: 'printf "plugin got: "; cat\n', mode: 0o755 }], { gzip: true });
