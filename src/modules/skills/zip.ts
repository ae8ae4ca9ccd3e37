// A small zip reader for uploaded skill and plugin packages: the central directory is the index
// (the local headers only locate the data), stored and deflate entries only, no zip64, no
// encryption, no multi-disk archives. Every entry's declared size is checked before it is inflated
// (the inflater stops at that size), its inflated length and CRC-32 after. Unix file types come from
// the external attributes: a symbolic link, device or FIFO entry is reported as such and refused by
// the caller, never written.
import zlib from "node:zlib";

export interface RawEntry {
  name: string;
  type: string;
  size: number;
  /** Unix permission bits when the archive has them. */
  mode: number;
  /** Reads the entry's bytes (inflated, checked); only called for files that passed the caller's checks. */
  read(): Buffer;
}

export class ZipError extends Error {}

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;

function typeOf(attrs: number, name: string): string {
  const unix = attrs >>> 16;
  const fmt = unix & 0o170000;
  if (fmt === 0o120000) return "symlink";
  if (fmt === 0o020000 || fmt === 0o060000) return "device";
  if (fmt === 0o010000) return "fifo";
  if (fmt === 0o140000) return "socket";
  if (fmt === 0o040000 || name.endsWith("/")) return "directory";
  if (fmt === 0 || fmt === 0o100000) return "file";
  return "unknown";
}

/** The entries of a zip archive held in `buf`; throws ZipError for anything malformed or unsupported. */
export function readZip(buf: Buffer, maxEntries: number): RawEntry[] {
  // The end record is in the last 22 + 65535 bytes (its comment is at most 65535 bytes).
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65_535); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError("it has no zip end-of-central-directory record");
  const disk = buf.readUInt16LE(eocd + 4);
  const count = buf.readUInt16LE(eocd + 10);
  const cenSize = buf.readUInt32LE(eocd + 12);
  const cenOff = buf.readUInt32LE(eocd + 16);
  if (disk !== 0 || buf.readUInt16LE(eocd + 6) !== 0 || buf.readUInt16LE(eocd + 8) !== count) throw new ZipError("multi-disk zip archives are not supported");
  if (count === 0xffff || cenOff === 0xffffffff || cenSize === 0xffffffff) throw new ZipError("zip64 archives are not supported");
  if (count > maxEntries) throw new ZipError(`it has more than ${maxEntries} entries`);
  if (cenOff + cenSize > eocd) throw new ZipError("its central directory lies outside the archive");
  const out: RawEntry[] = [];
  let p = cenOff;
  for (let n = 0; n < count; n++) {
    if (p + 46 > eocd || buf.readUInt32LE(p) !== CEN_SIG) throw new ZipError("its central directory is malformed");
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const attrs = buf.readUInt32LE(p + 38);
    const loc = buf.readUInt32LE(p + 42);
    if (p + 46 + nameLen > eocd) throw new ZipError("its central directory is malformed");
    const nameBytes = buf.subarray(p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    let name: string;
    try {
      name = new TextDecoder("utf-8", { fatal: true }).decode(nameBytes);
    } catch {
      throw new ZipError("an entry's name is not valid UTF-8");
    }
    if (flags & 0x1) throw new ZipError(`entry ${JSON.stringify(name.slice(0, 120))} is encrypted`);
    if (csize === 0xffffffff || usize === 0xffffffff || loc === 0xffffffff) throw new ZipError("zip64 entries are not supported");
    if (method !== 0 && method !== 8) throw new ZipError(`entry ${JSON.stringify(name.slice(0, 120))} uses compression method ${method}; only stored and deflate are supported`);
    const type = typeOf(attrs, name);
    out.push({
      name,
      type,
      size: type === "file" ? usize : 0,
      mode: (attrs >>> 16) & 0o7777,
      read() {
        if (loc + 30 > cenOff || buf.readUInt32LE(loc) !== LOC_SIG) throw new ZipError(`entry ${JSON.stringify(name.slice(0, 120))} has no local header where the directory says`);
        const start = loc + 30 + buf.readUInt16LE(loc + 26) + buf.readUInt16LE(loc + 28);
        if (start + csize > cenOff) throw new ZipError(`entry ${JSON.stringify(name.slice(0, 120))} runs past its data`);
        const raw = buf.subarray(start, start + csize);
        let data: Buffer;
        if (method === 0) data = Buffer.from(raw);
        else {
          try {
            // Never more than the size declared (and already checked against the caps) is inflated.
            data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, usize) });
          } catch {
            throw new ZipError(`entry ${JSON.stringify(name.slice(0, 120))} inflates to more than the ${usize} bytes it declares, or is corrupt`);
          }
        }
        if (data.length !== usize) throw new ZipError(`entry ${JSON.stringify(name.slice(0, 120))} is ${data.length} bytes, not the ${usize} it declares`);
        if (zlib.crc32(data) >>> 0 !== crc) throw new ZipError(`entry ${JSON.stringify(name.slice(0, 120))} fails its CRC-32 check`);
        return data;
      },
    });
  }
  return out;
}
