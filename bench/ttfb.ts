// Streaming time to first byte, sequential (concurrency 1): POST a streaming chat completion, time
// until the first body bytes arrive, read the rest, repeat. Prints {p50ms, p99ms, n} as JSON.
// Usage: bun bench/ttfb.ts <url> <count> [header=value ...]
const [url, countArg, ...headerArgs] = process.argv.slice(2);
const headers: Record<string, string> = { "content-type": "application/json" };
for (const h of headerArgs) {
  const i = h.indexOf("=");
  headers[h.slice(0, i)] = h.slice(i + 1);
}
const body = JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "stream please [[words:16]]" }] });
const n = Number(countArg ?? 300);
const times: number[] = [];
for (let i = 0; i < n + 30; i++) {
  const t0 = performance.now();
  const res = await fetch(url!, { method: "POST", headers, body });
  const reader = res.body!.getReader();
  await reader.read();
  const t1 = performance.now();
  while (!(await reader.read()).done) {
    // drain
  }
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  if (i >= 30) times.push(t1 - t0); // the first 30 warm up connections and JIT
}
times.sort((a, b) => a - b);
const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!;
console.log(JSON.stringify({ n, p50ms: Number(pct(50).toFixed(3)), p99ms: Number(pct(99).toFixed(3)) }));
export {};
