// The main thread's side of extract-writer.worker.ts: file chunks go to the worker (copied, since the
// decompressor's buffers are shared between entries), at most IN_FLIGHT bytes ahead of its writes.
import { workerSpecifier } from "../../lib/worker.ts";

const IN_FLIGHT = 4 * 1024 * 1024;

export class ExtractWriter {
  private readonly worker = new Worker(workerSpecifier("modules/backup/extract-writer.worker.ts"));
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private nextSeq = 1;
  private readonly pending = new Map<number, { resolve: (r: { sha256: string; bytes: number }) => void; reject: (e: Error) => void }>();
  private readonly errors = new Map<number, string>();

  constructor() {
    this.worker.onmessage = (e: MessageEvent) => {
      const m = e.data as { op: "ack"; bytes: number } | { op: "error"; fd: number; message: string } | { op: "done"; seq: number; sha256?: string; bytes?: number; failed?: boolean };
      if (m.op === "ack") {
        this.inFlight -= m.bytes;
        if (this.inFlight < IN_FLIGHT) for (const w of this.waiters.splice(0)) w();
      } else if (m.op === "error") this.errors.set(m.fd, m.message);
      else {
        const p = this.pending.get(m.seq);
        this.pending.delete(m.seq);
        if (p && m.failed) p.reject(new Error("write failed"));
        else p?.resolve({ sha256: m.sha256!, bytes: m.bytes! });
      }
    };
  }

  /** Queues a chunk for the file open as `fd`; resolves when there is room for more. */
  write(fd: number, chunk: Uint8Array): Promise<void> | void {
    const copy = new Uint8Array(chunk.length);
    copy.set(chunk);
    this.inFlight += copy.length;
    this.worker.postMessage({ op: "chunk", fd, buf: copy.buffer }, [copy.buffer]);
    if (this.inFlight >= IN_FLIGHT) return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** The file's SHA-256 and length once all its chunks are written; `fd` may be closed after. */
  end(fd: number): Promise<{ sha256: string; bytes: number }> {
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, {
        resolve,
        reject: () => {
          reject(new Error(this.errors.get(fd) ?? "write failed"));
          this.errors.delete(fd);
        },
      });
      this.worker.postMessage({ op: "end", seq, fd });
    });
  }

  close(): void {
    this.worker.terminate();
  }
}
