// The read side of a backup: a fixed set of 8 MiB chunks of shared memory that the main thread reads
// file data into, and the worker thread that computes the files' SHA-256 from those same chunks (see
// hash.worker.ts). A chunk goes back to the free list only when both of its readers are done with it:
// the hashing worker (it acks) and the compressor (the archive's feeder reports it). Memory stays at
// SLOTS chunks however large the tenant, and no chunk is allocated, zeroed or faulted in twice.
import { workerSpecifier } from "../../lib/worker.ts";

export const CHUNK = 8 << 20;
/** Chunks in use at once: how far reading may run ahead of hashing and compressing. */
const SLOTS = 4;

interface Slot {
  id: number;
  buf: Buffer;
  /** Readers still holding it (hashing worker, compressor). */
  holders: number;
}

export class ChunkReader {
  private readonly worker = new Worker(workerSpecifier("modules/backup/hash.worker.ts"));
  private readonly slots: Slot[] = [];
  private readonly free: Slot[] = [];
  /** Which slot a handed-out view belongs to. */
  private readonly owner = new WeakMap<Uint8Array, Slot>();
  private waiting: (() => void) | null = null;
  private nextSeq = 1;
  private readonly pending = new Map<number, { resolve: (hex: string) => void; reject: (e: Error) => void }>();
  private failed: Error | null = null;

  constructor() {
    this.worker.onmessage = (e: MessageEvent) => {
      const m = e.data as { op: "ack"; slot: number } | { op: "done"; seq: number; hex: string };
      if (m.op === "ack") return this.drop(this.slots[m.slot]!);
      this.pending.get(m.seq)?.resolve(m.hex);
      this.pending.delete(m.seq);
    };
    this.worker.onerror = (e) => this.fail(new Error(`the hashing thread failed: ${e.message}`));
    // Ended without an error event (killed, say): nothing would ever hand a chunk back.
    this.worker.addEventListener("close", () => this.fail(new Error("the hashing thread stopped")));
  }

  /** A file to hash; its chunks come from `read()`, in order, and `end()` gives its SHA-256. */
  begin(): number {
    return this.nextSeq++;
  }

  /**
   * Reads up to CHUNK bytes through `fill` into a free chunk (waiting for one if all are in use),
   * hands them to the hashing worker as part of file `seq`, and returns the view to archive. The
   * caller must give that view to the compressor, which reports it back through `consumed()`.
   */
  async read(seq: number, want: number, fill: (buf: Buffer) => number): Promise<Buffer> {
    const slot = await this.take();
    let got: number;
    try {
      got = fill(slot.buf.subarray(0, want));
    } catch (err) {
      this.free.push(slot);
      throw err;
    }
    const view = slot.buf.subarray(0, got);
    slot.holders = 2;
    this.owner.set(view, slot);
    this.worker.postMessage({ op: "chunk", seq, slot: slot.id, sab: slot.buf.buffer, length: got });
    return view;
  }

  /** The compressor is done with `view` (anything not from `read()` is ignored). */
  consumed(view: Uint8Array): void {
    const slot = this.owner.get(view);
    if (!slot) return;
    this.owner.delete(view);
    this.drop(slot);
  }

  end(seq: number): Promise<string> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ op: "end", seq });
    });
  }

  /** Stops: a read waiting for a free chunk (one the compressor will now never give back) throws `err`. */
  fail(err: Error): void {
    this.failed ??= err;
    for (const p of this.pending.values()) p.reject(this.failed);
    this.pending.clear();
    this.wake();
  }

  close(): void {
    this.worker.terminate();
    this.fail(new Error("the backup's reader is closed"));
  }

  private async take(): Promise<Slot> {
    for (;;) {
      if (this.failed) throw this.failed;
      const slot = this.free.pop();
      if (slot) return slot;
      if (this.slots.length < SLOTS) {
        const s: Slot = { id: this.slots.length, buf: Buffer.from(new SharedArrayBuffer(CHUNK)), holders: 0 };
        this.slots.push(s);
        return s;
      }
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  private drop(slot: Slot): void {
    if (--slot.holders > 0) return;
    this.free.push(slot);
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }
}
