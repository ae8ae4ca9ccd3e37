// Reading a request body of unknown length (chunked) up to a limit: past it the read stops and the
// rest is never taken in (the caller answers with its own refusal).

/** The body's bytes, or null once more than `limit` bytes came (the stream is cancelled). */
export async function readBodyCapped(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Buffer | null> {
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
