// A TLS 1.2/1.3-shaped ClientHello, byte for byte, so proxy tests can choose the SNI (or leave it
// out) without a TLS library on either side.

export function clientHello(serverName: string | null, opts: { splitRecords?: boolean } = {}): Uint8Array {
  const u16 = (n: number) => [(n >> 8) & 255, n & 255];
  const u24 = (n: number) => [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  const extensions: number[] = [];
  if (serverName !== null) {
    const name = [...new TextEncoder().encode(serverName)];
    const entry = [0, ...u16(name.length), ...name];
    const list = [...u16(entry.length), ...entry];
    extensions.push(...u16(0), ...u16(list.length), ...list);
  }
  // supported_versions (TLS 1.3) and a padding extension, as real clients send.
  extensions.push(...u16(43), ...u16(3), 2, 0x03, 0x04);
  extensions.push(...u16(21), ...u16(16), ...new Array(16).fill(0));
  const body = [
    0x03, 0x03, // legacy_version
    ...new Array(32).fill(7), // random
    32, ...new Array(32).fill(9), // session id
    ...u16(4), 0x13, 0x01, 0x13, 0x02, // cipher suites
    1, 0, // compression: null
    ...u16(extensions.length),
    ...extensions,
  ];
  const handshake = [1, ...u24(body.length), ...body];
  if (!opts.splitRecords) return Uint8Array.from([0x16, 0x03, 0x01, ...u16(handshake.length), ...handshake]);
  const half = Math.floor(handshake.length / 2);
  const a = handshake.slice(0, half);
  const b = handshake.slice(half);
  return Uint8Array.from([0x16, 0x03, 0x01, ...u16(a.length), ...a, 0x16, 0x03, 0x01, ...u16(b.length), ...b]);
}
