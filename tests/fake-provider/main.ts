// Runs the fake provider on its own (benchmarks): bun tests/fake-provider/main.ts [port] [--timing]
// With --timing, every model call is timed inside this process (TimedCall) and a second listener
// hands them out: GET <timingUrl>/calls returns those recorded since the last GET and forgets them.
import { startFakeProvider, type TimedCall } from "./fake-provider.ts";

const timing = process.argv.includes("--timing");
const port = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 0);
const calls: TimedCall[] = [];
const fake = startFakeProvider({ port, record: false, onCall: timing ? (c) => calls.push(c) : undefined });
const timingServer = timing
  ? Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => (new URL(req.url).pathname === "/calls" ? Response.json(calls.splice(0)) : new Response("not found", { status: 404 })) })
  : null;
console.log(JSON.stringify({ url: fake.url, ...(timingServer ? { timingUrl: `http://127.0.0.1:${timingServer.port}` } : {}) }));
export {};
