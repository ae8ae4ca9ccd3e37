// Where archives go and come from: `s3://bucket/key` through @aws-sdk/client-s3 (endpoint, region,
// path style and credentials from the gateway config only; multipart uploads for large archives), or
// a local file the operator names (location.ts parses and checks both).
import fs from "node:fs";
import path from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { requireResolved } from "../../config/env-refs.ts";
import type { GatewayConfig } from "../../config/schema.ts";
import { AppError } from "../../core/errors.ts";
import { workerSpecifier } from "../../lib/worker.ts";
import { fsyncDir } from "../../lib/fs-durable.ts";
import type { Location } from "./location.ts";

export function s3Client(config: GatewayConfig): S3Client {
  const s3 = config.backup.s3;
  if (!s3) throw new AppError("CONFIG_INVALID", "backup.s3 is not configured in the gateway config");
  requireResolved(config, ["backup", "s3"]);
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region ?? "us-east-1",
    forcePathStyle: s3.forcePathStyle ?? false,
    credentials: s3.accessKeyId && s3.secretAccessKey ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } : undefined,
    maxAttempts: 2,
  });
}

/** A failed HeadBucket: a 404 there can only mean the bucket is missing. */
function bucketError(err: unknown, where: string): AppError {
  if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return new AppError("UPSTREAM_ERROR", `${where}: the bucket does not exist`, { cause: err });
  return storageError(err, where);
}

/** Turns S3 and network failures into one clear line naming the location. */
export function storageError(err: unknown, where: string): AppError {
  if (err instanceof AppError) return err;
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? e.code ?? "";
  const status = e.$metadata?.httpStatusCode;
  const why =
    name === "NoSuchBucket"
      ? "the bucket does not exist"
      : name === "NoSuchKey" || name === "NotFound" || status === 404
        ? "no such object"
        : ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Forbidden", "InvalidToken"].includes(name) || status === 403
          ? "access denied (check backup.s3 credentials)"
          : /ECONNREFUSED|ConnectionRefused|Unable to connect/i.test(`${e.code ?? ""} ${e.message ?? ""}`)
            ? "connection refused (is backup.s3.endpoint right and the server up?)"
            : /ENOTFOUND|EAI_AGAIN/.test(`${e.code ?? ""} ${e.message ?? ""}`)
              ? "the endpoint's host name does not resolve"
              : `${name || "error"}: ${(e.message ?? String(err)).split("\n")[0]}`;
  return new AppError("UPSTREAM_ERROR", `${where}: ${why}`, { cause: err });
}

export interface Sink {
  stream: Writable;
  /** Resolves when the bytes are durably stored. */
  done(): Promise<void>;
  abort(): Promise<void>;
  /** Set when the sink hashes what it stores itself (the file writer does, on its thread). */
  digest?(): { sha256: string; bytes: number };
}

/**
 * A file sink whose writing and hashing happen on a worker thread. Chunks are handed over — moved
 * when a chunk is the whole of its memory (zstd's full output buffers, which it never reuses), else
 * copied — so the stages before this one must not reuse a buffer they have pushed. At most 8 chunks
 * are in flight, which bounds memory.
 */
async function workerFileSink(partial: string, final: string, dir: string): Promise<Sink> {
  const worker = new Worker(workerSpecifier("modules/backup/file-writer.worker.ts"));
  let seq = 0;
  const acks = new Map<number, () => void>();
  let failure: Error | null = null;
  let ended: { sha256: string; bytes: number } | null = null;
  let onEnded: (() => void) | null = null;
  let onOpened: ((err?: Error) => void) | null = null;
  worker.onmessage = (e: MessageEvent) => {
    const m = e.data as { op: string; seq?: number; sha256?: string; bytes?: number; message?: string };
    if (m.op === "ack") {
      acks.get(m.seq!)?.();
      acks.delete(m.seq!);
    } else if (m.op === "opened") onOpened?.();
    else if (m.op === "ended") {
      ended = { sha256: m.sha256!, bytes: m.bytes! };
      onEnded?.();
    } else if (m.op === "error") {
      failure = new AppError("INTERNAL", `writing ${final}: ${m.message}`);
      onOpened?.(failure);
      for (const a of acks.values()) a();
      acks.clear();
      onEnded?.();
    }
  };
  await new Promise<void>((resolve, reject) => {
    onOpened = (err) => (err ? reject(err) : resolve());
    worker.postMessage({ op: "open", path: partial });
  });
  const inFlight: Promise<void>[] = [];
  const stream = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _e, cb) {
      if (failure) return cb(failure);
      const owned = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : Buffer.from(chunk);
      const n = ++seq;
      inFlight.push(new Promise<void>((resolve) => acks.set(n, resolve)));
      worker.postMessage({ op: "write", seq: n, buf: owned.buffer, offset: 0, length: owned.length }, [owned.buffer as ArrayBuffer]);
      if (inFlight.length < 8) return cb();
      inFlight.shift()!.then(() => cb(failure ?? undefined));
    },
    final(cb) {
      Promise.all(inFlight).then(() => {
        if (failure) return cb(failure);
        onEnded = () => cb(failure ?? undefined);
        worker.postMessage({ op: "end" });
      });
    },
  });
  let finished = false;
  const streamDone = new Promise<void>((resolve, reject) => {
    stream.on("finish", () => resolve());
    stream.on("error", reject);
  });
  streamDone.catch(() => {}); // an aborted backup never awaits it
  return {
    stream,
    digest: () => ended!,
    async done() {
      await streamDone;
      worker.terminate();
      if (failure) throw failure;
      fs.renameSync(partial, final);
      fsyncDir(dir);
      finished = true;
    },
    async abort() {
      stream.destroy();
      worker.terminate();
      if (!finished) fs.rmSync(partial, { force: true });
    },
  };
}

export async function openSink(config: GatewayConfig, l: Location, opts: { overwrite?: boolean; metadata?: Record<string, string> } = {}): Promise<Sink> {
  if (l.kind === "file") {
    const io = l.via ?? l.path;
    const dir = path.dirname(io);
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new AppError("INVALID_PARAMS", `${path.dirname(l.path)} is not a directory`);
    const existing = fs.lstatSync(io, { throwIfNoEntry: false });
    if (existing && !opts.overwrite) throw new AppError("CONFLICT", `${l.path} already exists`);
    if (existing && !existing.isFile()) throw new AppError("INVALID_PARAMS", `${l.path} exists and is not a regular file`);
    const partial = `${io}.partial-${crypto.randomUUID().slice(0, 8)}`;
    return workerFileSink(partial, io, dir);
  }
  const client = s3Client(config);
  const where = `s3://${l.bucket}/${l.key}`;
  try {
    await client.send(new HeadBucketCommand({ Bucket: l.bucket }));
  } catch (err) {
    client.destroy();
    throw bucketError(err, where);
  }
  const body = new PassThrough({ highWaterMark: 1 << 20 });
  const upload = new Upload({ client, params: { Bucket: l.bucket, Key: l.key, Body: body, ContentType: "application/octet-stream", Metadata: opts.metadata }, partSize: 8 * 1024 * 1024, queueSize: 2, leavePartsOnError: false });
  const result = upload.done();
  result.catch(() => {});
  return {
    stream: body,
    async done() {
      try {
        await result;
      } catch (err) {
        throw storageError(err, where);
      } finally {
        client.destroy();
      }
    },
    async abort() {
      body.destroy();
      try {
        await upload.abort();
      } catch {
        // nothing uploaded yet
      }
      client.destroy();
    },
  };
}

export interface Source {
  stream: Readable;
  size: number | null;
  close(): void;
}

export async function openSource(config: GatewayConfig, l: Location): Promise<Source> {
  if (l.kind === "file") {
    let fd: number;
    try {
      fd = fs.openSync(l.via ?? l.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new AppError(code === "ENOENT" ? "NOT_FOUND" : "INVALID_PARAMS", `${l.path}: ${code === "ENOENT" ? "no such file" : code === "ELOOP" ? "is a symbolic link" : (err as Error).message}`);
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      fs.closeSync(fd);
      throw new AppError("INVALID_PARAMS", `${l.path} is not a regular file`);
    }
    const stream = fs.createReadStream("", { fd, highWaterMark: 1 << 20 });
    return { stream, size: st.size, close: () => stream.destroy() };
  }
  const client = s3Client(config);
  const where = `s3://${l.bucket}/${l.key}`;
  try {
    const r = await client.send(new GetObjectCommand({ Bucket: l.bucket, Key: l.key }));
    const stream = r.Body instanceof Readable ? r.Body : Readable.fromWeb((r.Body as { transformToWebStream(): ReadableStream }).transformToWebStream() as never);
    return {
      stream,
      size: r.ContentLength ?? null,
      close: () => {
        stream.destroy();
        client.destroy();
      },
    };
  } catch (err) {
    // S3 answers 404 for a missing bucket and a missing key alike: tell them apart.
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
      try {
        await client.send(new HeadBucketCommand({ Bucket: l.bucket }));
      } catch (headErr) {
        client.destroy();
        throw bucketError(headErr, where);
      }
    }
    client.destroy();
    throw storageError(err, where);
  }
}

export async function deleteLocation(config: GatewayConfig, l: Location): Promise<void> {
  if (l.kind === "file") {
    const io = l.via ?? l.path;
    const st = fs.lstatSync(io, { throwIfNoEntry: false });
    if (st && !st.isFile()) throw new AppError("INVALID_PARAMS", `${l.path} is not a regular file`);
    fs.rmSync(io, { force: true });
    return;
  }
  const client = s3Client(config);
  try {
    await client.send(new DeleteObjectCommand({ Bucket: l.bucket, Key: l.key }));
  } catch (err) {
    throw storageError(err, `s3://${l.bucket}/${l.key}`);
  } finally {
    client.destroy();
  }
}

/** An object's size and user metadata, or null if there is no such object. */
export async function headObject(config: GatewayConfig, bucket: string, key: string): Promise<{ size: number; metadata: Record<string, string> } | null> {
  const client = s3Client(config);
  try {
    const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { size: r.ContentLength ?? -1, metadata: r.Metadata ?? {} };
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
    throw storageError(err, `s3://${bucket}/${key}`);
  } finally {
    client.destroy();
  }
}

export async function listPrefix(config: GatewayConfig, bucket: string, prefix: string): Promise<{ key: string; size: number; lastModified: string | null }[]> {
  const client = s3Client(config);
  const out: { key: string; size: number; lastModified: string | null }[] = [];
  try {
    let token: string | undefined;
    do {
      const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified?.toISOString() ?? null });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token && out.length < 100_000);
  } catch (err) {
    throw storageError(err, `s3://${bucket}/${prefix}`);
  } finally {
    client.destroy();
  }
  return out;
}
