// Reads the server name (SNI) out of a TLS ClientHello without terminating TLS. The proxy holds the
// tunnel's first bytes until this says whether the hello is complete, then checks SNI == the host
// named in CONNECT (domain fronting through an allowed name is refused).

export type HelloParse =
  | { state: "need-more" }
  | { state: "not-tls" }
  | { state: "malformed"; reason: string }
  | { state: "done"; serverName: string | null };

const MAX_HELLO = 64 * 1024;

/** Parses `buf` (the client's first bytes in the tunnel). Handshakes split across records are joined. */
export function parseClientHello(buf: Uint8Array): HelloParse {
  if (buf.length === 0) return { state: "need-more" };
  if (buf[0] !== 0x16) return { state: "not-tls" };
  // Join handshake-record payloads until the ClientHello's declared length is present.
  const payload: number[] = [];
  let off = 0;
  let needed = -1;
  while (true) {
    if (off + 5 > buf.length) return buf.length > MAX_HELLO ? { state: "malformed", reason: "hello too large" } : { state: "need-more" };
    if (buf[off] !== 0x16) return { state: "malformed", reason: "handshake interleaved with other records" };
    const len = (buf[off + 3]! << 8) | buf[off + 4]!;
    if (len === 0 || len > 16384 + 2048) return { state: "malformed", reason: "bad record length" };
    if (off + 5 + len > buf.length) return buf.length > MAX_HELLO ? { state: "malformed", reason: "hello too large" } : { state: "need-more" };
    for (let i = 0; i < len; i++) payload.push(buf[off + 5 + i]!);
    off += 5 + len;
    if (needed < 0 && payload.length >= 4) {
      if (payload[0] !== 0x01) return { state: "malformed", reason: "first handshake message is not a ClientHello" };
      needed = 4 + ((payload[1]! << 16) | (payload[2]! << 8) | payload[3]!);
      if (needed > MAX_HELLO) return { state: "malformed", reason: "hello too large" };
    }
    if (needed >= 0 && payload.length >= needed) break;
  }
  return readServerName(Uint8Array.from(payload.slice(4, needed)));
}

function readServerName(h: Uint8Array): HelloParse {
  let p = 0;
  const need = (n: number) => {
    if (p + n > h.length) throw new Error("truncated ClientHello");
  };
  const u8 = () => {
    need(1);
    return h[p++]!;
  };
  const u16 = () => {
    need(2);
    const v = (h[p]! << 8) | h[p + 1]!;
    p += 2;
    return v;
  };
  try {
    need(2 + 32);
    p += 2 + 32; // legacy_version, random
    const sid = u8();
    need(sid);
    p += sid;
    const suites = u16();
    need(suites);
    p += suites;
    const comp = u8();
    need(comp);
    p += comp;
    if (p === h.length) return { state: "done", serverName: null }; // no extensions
    const extLen = u16();
    const end = p + extLen;
    if (end > h.length) throw new Error("truncated extensions");
    let serverName: string | null = null;
    let seen = false;
    while (p < end) {
      const type = u16();
      const len = u16();
      need(len);
      if (type === 0) {
        if (seen) return { state: "malformed", reason: "more than one server_name extension" };
        seen = true;
        const listEnd = p + 2 + ((h[p]! << 8) | h[p + 1]!);
        let q = p + 2;
        while (q < listEnd) {
          const nameType = h[q]!;
          const nameLen = (h[q + 1]! << 8) | h[q + 2]!;
          const name = new TextDecoder().decode(h.subarray(q + 3, q + 3 + nameLen));
          if (nameType === 0) {
            if (serverName !== null) return { state: "malformed", reason: "more than one host_name" };
            serverName = name;
          }
          q += 3 + nameLen;
        }
      }
      p += len;
    }
    return { state: "done", serverName };
  } catch (err) {
    return { state: "malformed", reason: err instanceof Error ? err.message : "bad ClientHello" };
  }
}
