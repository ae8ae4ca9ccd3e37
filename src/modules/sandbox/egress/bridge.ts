// The in-sandbox half of egress: listens on 127.0.0.1:<port> inside the sandbox's network namespace
// and forwards each connection to the run's proxy socket, so ordinary clients work through
// HTTP(S)_PROXY. It grants nothing — the proxy decides — and it starts nothing: the run's shell
// starts it in the background, waits for the ready file, then execs the tenant's command (so it works
// under gVisor too, where Bun cannot spawn). Self-contained (Bun APIs only) because it runs inside the
// sandbox from a read-only mount: as `openclaw __egress-bridge` in the binary, or as this file.
//
// usage: __egress-bridge <listen-port> <socket-path> <ready-file>
import fs from "node:fs";

type Pending = { chunks: Uint8Array[]; ended: boolean };

interface Side {
  peer: Bun.Socket<Side> | null;
  queue: Pending;
}

/** Writes what it can; keeps the rest for the drain handler. */
function send(to: Bun.Socket<Side>, q: Pending, data: Uint8Array): void {
  if (q.chunks.length > 0) {
    q.chunks.push(data.slice());
    return;
  }
  const n = to.write(data);
  if (n < data.length) q.chunks.push(data.slice(n));
}

function flush(s: Bun.Socket<Side>, q: Pending): void {
  while (q.chunks.length > 0) {
    const head = q.chunks[0]!;
    const n = s.write(head);
    if (n < head.length) {
      q.chunks[0] = head.slice(n);
      return;
    }
    q.chunks.shift();
  }
  if (q.ended) s.end();
}

export async function runEgressBridge(argv: string[]): Promise<void> {
  const [portText, socketPath, readyFile] = argv;
  if (!portText || !socketPath || !readyFile) {
    process.stderr.write("usage: __egress-bridge <port> <socket> <ready-file>\n");
    process.exit(2);
  }
  // Data for a side's socket waits in that side's queue until the socket drains.
  const handlers = {
    data(s: Bun.Socket<Side>, d: Uint8Array) {
      const peer = s.data.peer;
      if (peer) send(peer, peer.data.queue, d);
      else s.data.queue.chunks.push(d.slice()); // outbound not connected yet: hold for it
    },
    drain(s: Bun.Socket<Side>) {
      flush(s, s.data.queue);
    },
    close(s: Bun.Socket<Side>) {
      const peer = s.data.peer;
      if (!peer) return;
      peer.data.queue.ended = true;
      if (peer.data.queue.chunks.length === 0) peer.end();
    },
    error(s: Bun.Socket<Side>) {
      s.data.peer?.end();
    },
  };
  Bun.listen<Side>({
    hostname: "127.0.0.1",
    port: Number(portText),
    socket: {
      ...handlers,
      open(inbound) {
        inbound.data = { peer: null, queue: { chunks: [], ended: false } };
        Bun.connect<Side>({ unix: socketPath, socket: { ...handlers, open() {}, connectError: () => { inbound.end(); } } })
          .then((outbound) => {
            // Bytes the client sent before the proxy connection was up go out first.
            const early = inbound.data.queue.chunks;
            inbound.data.queue = { chunks: [], ended: false };
            outbound.data = { peer: inbound, queue: { chunks: [], ended: false } };
            inbound.data.peer = outbound;
            for (const c of early) send(outbound, outbound.data.queue, c);
          })
          .catch(() => inbound.end());
      },
    },
  });
  fs.writeFileSync(readyFile, "");
  await new Promise(() => {});
}

if (import.meta.main) await runEgressBridge(process.argv.slice(2));
