// A WebSocket pass-through that records every frame both ways with the time it passed, between an
// upstream OpenClaw client and a gateway: the real-client tests print the exact frames of a failing
// step from it, and bench/openclaw-protocol.ts times the gateway's part of a turn with it. No
// dependencies beyond Bun.

export interface Frame {
  dir: ">" | "<" | "close";
  data: string;
  /** performance.now() when the tap saw it. */
  t: number;
}

/**
 * A WebSocket pass-through in front of the gateway that records every frame both ways (and the
 * close), so a failing client step can be reported with the exact frames. It forwards the client's
 * Origin (the gateway's origin policy still applies) and relays close codes and reasons.
 */
export function startTap(target: string): { url: string; frames: Frame[]; transcript(max?: number): string; stop(): void } {
  const frames: Frame[] = [];
  type Data = { upstream: WebSocket; queue: (string | Buffer)[]; origin: string | null };
  const server = Bun.serve<Data>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const origin = req.headers.get("origin");
      const upstream = new WebSocket(target, { headers: origin ? { origin } : {} } as never);
      const data: Data = { upstream, queue: [], origin };
      if (srv.upgrade(req, { data })) return undefined;
      upstream.close();
      return new Response("websocket only", { status: 400 });
    },
    websocket: {
      open(ws) {
        const { upstream } = ws.data;
        upstream.onopen = () => {
          for (const m of ws.data.queue.splice(0)) upstream.send(m);
        };
        upstream.onmessage = (e) => {
          const s = typeof e.data === "string" ? e.data : Buffer.from(e.data as ArrayBuffer).toString();
          frames.push({ dir: "<", data: s, t: performance.now() });
          ws.send(s);
        };
        upstream.onclose = (e) => {
          frames.push({ dir: "close", data: `gateway closed ${e.code} ${e.reason}`, t: performance.now() });
          try {
            ws.close(e.code === 1005 || e.code === 1006 ? 1000 : e.code, e.reason);
          } catch {}
        };
        upstream.onerror = () => frames.push({ dir: "close", data: "gateway connection error (refused handshake?)", t: performance.now() });
      },
      message(ws, msg) {
        const s = typeof msg === "string" ? msg : Buffer.from(msg).toString();
        frames.push({ dir: ">", data: s, t: performance.now() });
        if (ws.data.upstream.readyState === WebSocket.OPEN) ws.data.upstream.send(s);
        else ws.data.queue.push(s);
      },
      close(ws, code, reason) {
        frames.push({ dir: "close", data: `client closed ${code} ${reason}`, t: performance.now() });
        try {
          ws.data.upstream.close(code === 1005 || code === 1006 ? 1000 : code, reason);
        } catch {}
      },
    },
  });
  return {
    url: `ws://127.0.0.1:${server.port}`,
    frames,
    transcript(max = 60) {
      const list = frames.length > max ? [{ dir: "close" as const, data: `… ${frames.length - max} earlier frames …`, t: 0 }, ...frames.slice(-max)] : frames;
      return list.map((f) => `${f.dir} ${f.data.length > 700 ? `${f.data.slice(0, 700)}… (${f.data.length} chars)` : f.data}`).join("\n");
    },
    stop: () => server.stop(true),
  };
}

