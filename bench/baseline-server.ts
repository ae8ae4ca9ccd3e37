// The baseline for HTTP benchmarks: a bare Bun HTTP server answering a constant JSON body.
// Usage: bun bench/baseline-server.ts <port>
const body = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { tenantId: "acme", status: "active" } });
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  fetch: () => new Response(body, { headers: { "content-type": "application/json" } }),
});
console.log(JSON.stringify({ url: `http://127.0.0.1:${server.port}` }));
export {};
