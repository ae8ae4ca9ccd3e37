// A sliding log of timestamps: O(1) push and expiry (a growable ring buffer), so a tenant with a high
// per-minute limit and heavy traffic costs no array shifting or copying per request.
export class TimeWindow {
  private buf = new Float64Array(16);
  private head = 0;
  private size = 0;

  get count(): number {
    return this.size;
  }

  push(t: number): void {
    if (this.size === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.head + i) % this.buf.length]!;
      this.buf = next;
      this.head = 0;
    }
    this.buf[(this.head + this.size) % this.buf.length] = t;
    this.size++;
  }

  /** Forgets every timestamp at or before `t`. */
  dropThrough(t: number): void {
    while (this.size > 0 && this.buf[this.head]! <= t) {
      this.head = (this.head + 1) % this.buf.length;
      this.size--;
    }
    if (this.size === 0 && this.buf.length > 1024) this.buf = new Float64Array(16); // give memory back after a burst
  }

  oldest(): number | undefined {
    return this.size ? this.buf[this.head] : undefined;
  }

  newest(): number | undefined {
    return this.size ? this.buf[(this.head + this.size - 1) % this.buf.length] : undefined;
  }
}
