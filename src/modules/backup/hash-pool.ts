// File digests for the backup manifest, computed on a worker thread (see hash.worker.ts).
import { workerSpecifier } from "../../lib/worker.ts";

export class HashPool {
  private readonly worker = new Worker(workerSpecifier("modules/backup/hash.worker.ts"));
  private nextSeq = 1;
  private readonly pending = new Map<number, { resolve: (v: { hex: string; fingerprint: bigint }) => void; reject: (e: Error) => void }>();
  readonly seed = BigInt.asUintN(64, BigInt(`0x${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`));

  constructor() {
    this.worker.onmessage = (e: MessageEvent) => {
      const m = e.data as { seq: number; hex?: string; fingerprint?: string; error?: string };
      const p = this.pending.get(m.seq);
      this.pending.delete(m.seq);
      if (!p) return;
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve({ hex: m.hex!, fingerprint: BigInt(m.fingerprint!) });
    };
  }

  /** SHA-256 and fingerprint of the first `size` bytes of the file at `path`. */
  file(path: string, size: number): Promise<{ hex: string; fingerprint: bigint }> {
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ op: "file", seq, path, size, seed: this.seed.toString() });
    });
  }

  close(): void {
    this.worker.terminate();
  }
}
