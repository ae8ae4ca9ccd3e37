// Egress policy and the per-run proxy, on the host: entry parsing, host canonicalisation, matching,
// the refused address ranges, and the proxy pipeline (policy before DNS, private answers refused,
// SNI must match, one request per plain-HTTP connection).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseClientHello } from "../../../src/modules/sandbox/egress/client-hello.ts";
import { allows, buildAllowPrivate, canonicalHost, parseEgressEntry, refusedAddress } from "../../../src/lib/egress-rules.ts";
import { startEgressProxy, type EgressEvent, type EgressProxy } from "../../../src/modules/sandbox/egress/proxy.ts";
import { clientHello } from "../../helpers/tls.ts";

describe("allow-list entries", () => {
  test.each([
    ["api.example.com:443", "api.example.com", false, 443],
    ["*.example.com:443", "example.com", true, 443],
    ["Example.COM.:8443", "example.com", false, 8443],
    ["1.2.3.4:80", "1.2.3.4", false, 80],
    ["[::1]:443", "::1", false, 443],
    ["pypi.org:*", "pypi.org", false, "*"],
  ] as const)("%s parses", (entry, host, wildcard, port) => {
    expect(parseEgressEntry(entry)).toMatchObject({ host, wildcard, port });
  });

  test.each([
    ["*:443", "valid host"],
    ["*.com:443", "two labels"],
    ["example.com", "needs a port"],
    ["example.com:0", "invalid port"],
    ["example.com:65536", "invalid port"],
    ["example.com:44a", "invalid port"],
    ["user@example.com:443", "not allowed"],
    ["exa mple.com:443", "not allowed"],
    ["evil.com%00:443", "not allowed"],
    ["*.1.2.3.4:443", "IP addresses"],
    ["foo.*.com:443", "valid host"],
    ["[fe80::1%25eth0]:443", "not allowed"],
  ])("%s is refused (%s)", (entry, why) => {
    expect(() => parseEgressEntry(entry)).toThrow(why);
  });
});

describe("host canonicalisation", () => {
  test.each([
    ["127.1", "127.0.0.1"],
    ["2130706433", "127.0.0.1"],
    ["0x7f.0.0.1", "127.0.0.1"],
    ["0177.0.0.1", "127.0.0.1"],
    ["[::ffff:127.0.0.1]", "127.0.0.1"],
    ["[0:0:0:0:0:ffff:7f00:1]", "127.0.0.1"],
    ["EXAMPLE.com.", "example.com"],
    ["[::1]", "::1"],
  ])("%s → %s", (raw, want) => {
    expect(canonicalHost(raw)).toBe(want);
  });

  test.each(["::1%eth0", "[fe80::1%25eth0]", "a..b", "", "evil.com/x", "user@evil.com", "evil.com:80", "évil\u0000.com", ".example.com"])("%p is not a host", (raw) => {
    expect(canonicalHost(raw)).toBeNull();
  });
});

describe("matching", () => {
  const rules = ["*.allowed.com:443", "exact.org:443", "1.2.3.4:80", "any.net:*"].map(parseEgressEntry);
  test.each([
    ["a.allowed.com", 443, true],
    ["deep.a.allowed.com", 443, true],
    ["allowed.com", 443, false],
    ["evil-allowed.com", 443, false],
    ["allowed.com.evil.com", 443, false],
    ["a.allowed.com", 80, false],
    ["exact.org", 443, true],
    ["sub.exact.org", 443, false],
    ["1.2.3.4", 80, true],
    ["1.2.3.4", 443, false],
    ["any.net", 22, true],
  ] as const)("%s:%d → %p", (host, port, want) => {
    expect(allows(rules, host, port) !== null).toBe(want);
  });

  test("wildcards never match IP literals", () => {
    expect(() => parseEgressEntry("*.3.4:443")).toThrow("IP addresses");
    expect(allows([{ host: "3.4", wildcard: true, port: 443, ip: false, source: "*.3.4:443" }], "1.2.3.4", 443)).toBeNull();
  });
});

describe("refused addresses", () => {
  const ownAddress = Object.values(os.networkInterfaces()).flat().find((a) => a && !a.internal && a.family === "IPv4")?.address;
  test.each(["127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.5.4", "192.168.1.1", "100.64.0.1", "169.254.169.254", "100.100.100.200", "168.63.129.16", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00:ec2::254", "fc00::1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::", "ff02::1"])(
    "%s is refused",
    (ip) => {
      expect(refusedAddress(ip, null)).not.toBeNull();
    },
  );
  test("this host's own interface addresses are refused", () => {
    expect(ownAddress).toBeDefined();
    expect(refusedAddress(ownAddress!, null)).not.toBeNull();
  });
  test.each(["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"])("%s is allowed", (ip) => {
    expect(refusedAddress(ip, null)).toBeNull();
  });
  test("the admin's allowPrivate list makes exceptions, and only those", () => {
    const allow = buildAllowPrivate(["127.0.0.1/32", "10.9.0.0/16"]);
    expect(refusedAddress("127.0.0.1", allow)).toBeNull();
    expect(refusedAddress("10.9.3.4", allow)).toBeNull();
    expect(refusedAddress("10.8.3.4", allow)).not.toBeNull();
    expect(refusedAddress("127.0.0.2", allow)).not.toBeNull();
  });
});

describe("ClientHello parsing", () => {
  test("reads the server name, in one record or split across two", () => {
    expect(parseClientHello(clientHello("api.example.com"))).toEqual({ state: "done", serverName: "api.example.com" });
    expect(parseClientHello(clientHello("api.example.com", { splitRecords: true }))).toEqual({ state: "done", serverName: "api.example.com" });
    expect(parseClientHello(clientHello(null))).toEqual({ state: "done", serverName: null });
  });
  test("asks for more until complete; says not-tls for anything else", () => {
    const full = clientHello("a.example");
    for (let n = 1; n < full.length; n++) expect(parseClientHello(full.subarray(0, n)).state).toBe("need-more");
    expect(parseClientHello(new TextEncoder().encode("GET / HTTP/1.1\r\n")).state).toBe("not-tls");
    expect(parseClientHello(Uint8Array.from([0x16, 3, 1, 0, 0])).state).toBe("malformed");
  });
});

// ---------------------------------------------------------------------------------------------
// The proxy, over its Unix socket, against real upstreams on 127.0.0.1.

let upstream: Bun.TCPSocketListener<{ got: Buffer[] }>;
const received: Buffer[] = [];
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "egress-test-"));
  upstream = Bun.listen<{ got: Buffer[] }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(s, d) {
        received.push(Buffer.from(d));
        const text = Buffer.from(d).toString("latin1");
        if (text.startsWith("GET ") || text.startsWith("POST ")) {
          const body = `upstream saw ${JSON.stringify(text.split("\r\n\r\n")[0])} body=${JSON.stringify(text.split("\r\n\r\n")[1] ?? "")}`;
          s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        } else s.write(d); // echo tunnel bytes
      },
    },
  });
});
afterAll(() => {
  upstream.stop(true);
  fs.rmSync(dir, { recursive: true, force: true });
});

async function withProxy(rules: string[], opts: { allowPrivate?: string[]; lookup?: (h: string) => Promise<{ address: string; family: number }[]>; maxConnections?: number } = {}, fn: (p: EgressProxy, events: EgressEvent[], lookups: string[]) => Promise<void>) {
  const events: EgressEvent[] = [];
  const lookups: string[] = [];
  const p = await startEgressProxy({
    socketPath: path.join(dir, `p-${Math.random().toString(36).slice(2)}.sock`),
    rules: rules.map(parseEgressEntry),
    allowPrivate: buildAllowPrivate(opts.allowPrivate),
    onEvent: (e) => events.push(e),
    lookup: async (h) => {
      lookups.push(h);
      return opts.lookup ? opts.lookup(h) : h === "localhost" ? [{ address: "127.0.0.1", family: 4 }] : Promise.reject(new Error("ENOTFOUND"));
    },
    maxConnections: opts.maxConnections,
    headTimeoutMs: 2000,
  });
  try {
    await fn(p, events, lookups);
  } finally {
    await p.close();
  }
}

/** Sends `first`, then (after the proxy's answer) `then`; returns everything the proxy sent back. */
function talk(socketPath: string, first: string | Uint8Array, then?: Uint8Array, waitMs = 300): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect(socketPath);
    let sentThen = false;
    s.on("data", (d) => {
      chunks.push(Buffer.from(d));
      if (then && !sentThen) {
        sentThen = true;
        s.write(then);
      }
    });
    s.on("error", () => {});
    const done = (closed: boolean) => resolve({ text: Buffer.concat(chunks).toString("latin1"), closed });
    s.on("close", () => done(true));
    s.write(first);
    setTimeout(() => {
      s.destroy();
      done(false);
    }, waitMs);
  });
}

describe("egress proxy", () => {
  test("plain HTTP to an allowed name: forwarded once, with the approved Host and no proxy headers", async () => {
    const port = upstream.port;
    await withProxy([`localhost:${port}`], { allowPrivate: ["127.0.0.1/32"] }, async (p, events) => {
      const r = await talk(p.socketPath, `GET http://localhost:${port}/hello?x=1 HTTP/1.1\r\nHost: LOCALHOST:${port}\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nConnection: x-secret\r\nX-Secret: drop me\r\n\r\nGET http://localhost:${port}/second HTTP/1.1\r\n\r\n`, undefined, 500);
      expect(r.text).toContain("HTTP/1.1 200 OK");
      expect(r.text).toContain("GET /hello?x=1 HTTP/1.1");
      expect(r.text).toContain(`Host: localhost:${port}`);
      expect(r.text).not.toContain("LOCALHOST");
      expect(r.text).not.toContain("drop me");
      expect(r.text.toLowerCase()).not.toContain("proxy-");
      expect(r.text).not.toContain("/second");
      expect(events.map((e) => [e.outcome, e.method, e.host, e.port])).toEqual([["allowed", "HTTP", "localhost", port]]);
    });
  });

  test("a name outside the allow-list is refused before any DNS lookup", async () => {
    await withProxy(["allowed.example:443"], {}, async (p, events, lookups) => {
      const r = await talk(p.socketPath, "CONNECT secret-data.attacker.example:443 HTTP/1.1\r\n\r\n");
      expect(r.text).toStartWith("HTTP/1.1 403");
      const h = await talk(p.socketPath, "GET http://exfil.attacker.example/ HTTP/1.1\r\n\r\n");
      expect(h.text).toStartWith("HTTP/1.1 403");
      expect(lookups).toEqual([]);
      expect(events.map((e) => e.outcome)).toEqual(["refused", "refused"]);
      expect(p.counts).toMatchObject({ allowed: 0, refused: 2 });
    });
  });

  test("an allowed name that resolves to a private, metadata or mixed answer is refused, and nothing is dialled", async () => {
    const answers: Record<string, string[]> = {
      "rebind.allowed.example": ["10.0.0.7"],
      "meta.allowed.example": ["169.254.169.254"],
      "mixed.allowed.example": ["93.184.216.34", "127.0.0.1"],
      "v6.allowed.example": ["::1"],
    };
    const before = received.length;
    await withProxy(["*.allowed.example:443"], { lookup: async (h) => (answers[h] ?? []).map((address) => ({ address, family: address.includes(":") ? 6 : 4 })) }, async (p, events) => {
      for (const host of Object.keys(answers)) {
        const r = await talk(p.socketPath, `CONNECT ${host}:443 HTTP/1.1\r\n\r\n`);
        expect({ host, status: r.text.split("\r\n")[0] }).toEqual({ host, status: "HTTP/1.1 403 Forbidden" });
      }
      expect(events.every((e) => e.outcome === "refused" && /resolves to/.test(e.reason ?? ""))).toBe(true);
    });
    expect(received.length).toBe(before);
  });

  test("IP literals in any spelling are refused when private, unless the admin allows them", async () => {
    const port = upstream.port;
    await withProxy([`127.0.0.1:${port}`], {}, async (p) => {
      for (const spelling of ["127.0.0.1", "127.1", "2130706433", "0x7f.0.0.1", "[::ffff:127.0.0.1]"]) {
        const r = await talk(p.socketPath, `CONNECT ${spelling}:${port} HTTP/1.1\r\n\r\n`);
        expect({ spelling, status: r.text.split("\r\n")[0] }).toEqual({ spelling, status: "HTTP/1.1 403 Forbidden" });
      }
    });
    await withProxy([`127.0.0.1:${port}`], { allowPrivate: ["127.0.0.1/32"] }, async (p) => {
      const r = await talk(p.socketPath, `CONNECT 2130706433:${port} HTTP/1.1\r\n\r\n`);
      expect(r.text).toStartWith("HTTP/1.1 200");
    });
  });

  test("CONNECT: the TLS server name must be the host asked for", async () => {
    const port = upstream.port;
    await withProxy([`localhost:${port}`], { allowPrivate: ["127.0.0.1/32"] }, async (p, events) => {
      const good = clientHello("localhost");
      const r = await talk(p.socketPath, `CONNECT localhost:${port} HTTP/1.1\r\n\r\n`, good, 500);
      expect(r.text).toStartWith("HTTP/1.1 200 Connection Established");
      // The upstream echoes: the hello went through untouched.
      expect(r.text.length).toBeGreaterThan(good.length);
      const before = received.length;
      for (const hello of [clientHello("evil.example"), clientHello("localhost.evil.example"), clientHello(null), new TextEncoder().encode("SSH-2.0-probe\r\n")]) {
        const bad = await talk(p.socketPath, `CONNECT localhost:${port} HTTP/1.1\r\n\r\n`, hello, 500);
        expect(bad.closed).toBe(true);
        expect(bad.text).toBe("HTTP/1.1 200 Connection Established\r\n\r\n");
      }
      expect(received.length).toBe(before);
      expect(events.map((e) => e.outcome)).toEqual(["allowed", "refused", "refused", "refused", "refused"]);
      expect(events.slice(1).map((e) => e.reason)).toEqual([
        expect.stringContaining("does not match"),
        expect.stringContaining("does not match"),
        expect.stringContaining("does not match"),
        expect.stringContaining("does not start with a TLS ClientHello"),
      ]);
    });
  });

  test("a port that is not allowed, a zone id, a chunked body and garbage are refused", async () => {
    const port = upstream.port;
    await withProxy([`localhost:${port}`], { allowPrivate: ["127.0.0.1/32"] }, async (p) => {
      expect((await talk(p.socketPath, `CONNECT localhost:${port + 1} HTTP/1.1\r\n\r\n`)).text).toStartWith("HTTP/1.1 403");
      expect((await talk(p.socketPath, `CONNECT [fe80::1%25eth0]:${port} HTTP/1.1\r\n\r\n`)).text).toStartWith("HTTP/1.1 400");
      expect((await talk(p.socketPath, `POST http://localhost:${port}/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`)).text).toStartWith("HTTP/1.1 411");
      expect((await talk(p.socketPath, "\u0000\u0001garbage\r\n\r\n")).text).toStartWith("HTTP/1.1 400");
      expect((await talk(p.socketPath, `GET https://localhost:${port}/ HTTP/1.1\r\n\r\n`)).text).toStartWith("HTTP/1.1 400");
      const post = await talk(p.socketPath, `POST http://localhost:${port}/in HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloEXTRA-BYTES-NOT-FORWARDED`, undefined, 500);
      expect(post.text).toContain('body="hello"');
    });
  });

  test("a name that resolves to ::1 and 127.0.0.1 (a stock /etc/hosts): both must be allowed, then either answers", async () => {
    const port = upstream.port;
    const dual = async () => [{ address: "::1", family: 6 }, { address: "127.0.0.1", family: 4 }];
    // Allowing one family only refuses the name whole: a mixed answer is a rebinding signal.
    await withProxy([`localhost:${port}`], { allowPrivate: ["127.0.0.1/32"], lookup: dual }, async (p, events) => {
      const r = await talk(p.socketPath, `GET http://localhost:${port}/x HTTP/1.1\r\n\r\n`);
      expect(r.text).toStartWith("HTTP/1.1 403");
      expect(events[0]!.reason).toContain("::1");
    });
    // Both allowed: the upstream listens on 127.0.0.1 only, and ::1 (asked first) refuses; the proxy
    // goes on to the next vetted address.
    await withProxy([`localhost:${port}`], { allowPrivate: ["127.0.0.1/32", "::1/128"], lookup: dual }, async (p, events) => {
      const r = await talk(p.socketPath, `GET http://localhost:${port}/x HTTP/1.1\r\n\r\n`, undefined, 500);
      expect(r.text).toContain("HTTP/1.1 200 OK");
      expect(events.map((e) => [e.outcome, e.address])).toEqual([["allowed", "127.0.0.1"]]);
    });
  });

  test("connections per run are capped", async () => {
    const port = upstream.port;
    await withProxy([`localhost:${port}`], { allowPrivate: ["127.0.0.1/32"], maxConnections: 2 }, async (p, events) => {
      const open = [net.connect(p.socketPath), net.connect(p.socketPath)];
      await Bun.sleep(100);
      const third = await talk(p.socketPath, `CONNECT localhost:${port} HTTP/1.1\r\n\r\n`);
      expect(third.closed).toBe(true);
      expect(third.text).toBe("");
      expect(events.some((e) => /more than 2 open connections/.test(e.reason ?? ""))).toBe(true);
      for (const s of open) s.destroy();
    });
  });
});

describe("egress proxy: request smuggling", () => {
  // The upstream above reads requests as leniently as some servers do (bare LF ends a line): none of
  // these may put a second request, or a Host the allow-list does not name, in front of it.
  const port = () => upstream.port;
  const ATTEMPTS: [string, () => string, number][] = [
    ["bare LF in a header value", () => `GET http://localhost:${port()}/a HTTP/1.1\r\nX-A: 1\nGET /smuggled HTTP/1.1\nHost: second.vhost\n\nX-B: 2\r\n\r\n`, 400],
    ["bare CR in a header value", () => `GET http://localhost:${port()}/a HTTP/1.1\r\nX-A: 1\rGET /smuggled HTTP/1.1\rHost: second.vhost\r\r\n\r\n`, 400],
    ["bare LF in a header name", () => `GET http://localhost:${port()}/a HTTP/1.1\r\nX\nHost: second.vhost\r\n\r\n`, 400],
    ["NUL in a header value", () => `GET http://localhost:${port()}/a HTTP/1.1\r\nX-A: 1\u0000GET /smuggled HTTP/1.1\r\n\r\n`, 400],
    ["NUL in the request target", () => `GET http://localhost:${port()}/a\u0000/smuggled HTTP/1.1\r\n\r\n`, 400],
    ["a folded header line", () => `GET http://localhost:${port()}/a HTTP/1.1\r\nX-A: 1\r\n Host: second.vhost\r\n\r\n`, 400],
    ["two Host headers", () => `GET http://localhost:${port()}/a HTTP/1.1\r\nHost: localhost:${port()}\r\nHost: second.vhost\r\n\r\n`, 400],
    ["a Host naming another vhost", () => `GET http://localhost:${port()}/a HTTP/1.1\r\nHost: second.vhost\r\n\r\n`, 400],
    ["Content-Length with Transfer-Encoding", () => `POST http://localhost:${port()}/a HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: second.vhost\r\n\r\n`, 400],
    ["two Content-Lengths", () => `POST http://localhost:${port()}/a HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: second.vhost\r\n\r\n`, 400],
    ["whitespace before the colon", () => `GET http://localhost:${port()}/a HTTP/1.1\r\nHost : second.vhost\r\n\r\n`, 400],
    ["a Host header carrying a path", () => `GET http://localhost:${port()}/a HTTP/1.1\r\nHost: second.vhost/smuggled HTTP/1.1\r\n\r\n`, 400],
    ["CONNECT with a second Host", () => `CONNECT localhost:${port()} HTTP/1.1\r\nHost: second.vhost:443\r\n\r\n`, 400],
    ["CONNECT with a bare LF", () => `CONNECT localhost:${port()} HTTP/1.1\r\nX: 1\nHost: second.vhost\r\n\r\n`, 400],
  ];

  test.each(ATTEMPTS)("%s: refused, and nothing reaches the upstream", async (_what, request, status) => {
    await withProxy([`localhost:${port()}`], { allowPrivate: ["127.0.0.1/32", "::1/128"] }, async (p, events) => {
      const before = received.length;
      const r = await talk(p.socketPath, request(), undefined, 400);
      expect(r.text.split("\r\n")[0]).toBe(`HTTP/1.1 ${status} Bad Request`);
      await Bun.sleep(50);
      const got = Buffer.concat(received.slice(before)).toString("latin1");
      expect(got).toBe("");
      expect(events.map((e) => e.outcome)).toEqual(["refused"]);
      expect(events[0]!.reason).toBeTruthy();
    });
  });

  test("what is forwarded is written by the proxy: one request line, the approved Host, vetted headers", async () => {
    await withProxy([`localhost:${port()}`], { allowPrivate: ["127.0.0.1/32", "::1/128"] }, async (p) => {
      const before = received.length;
      const r = await talk(p.socketPath, `POST http://localhost:${port()}/in?q=1#frag HTTP/1.1\r\nhost:localhost:${port()}\r\nX-Tab:\tvalue with tab \r\nContent-Length: 5\r\n\r\nhello`, undefined, 500);
      expect(r.text).toContain("HTTP/1.1 200 OK");
      const got = Buffer.concat(received.slice(before)).toString("latin1");
      expect(got).toBe(`POST /in?q=1 HTTP/1.1\r\nHost: localhost:${port()}\r\nx-tab: value with tab\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`);
    });
  });

  test("a Connection header cannot strip the framing: the body is sent with its length, and nothing after it", async () => {
    await withProxy([`localhost:${port()}`], { allowPrivate: ["127.0.0.1/32", "::1/128"] }, async (p) => {
      const before = received.length;
      const smuggled = `GET /smuggled HTTP/1.1\r\nHost: second.vhost\r\n\r\n`;
      await talk(p.socketPath, `POST http://localhost:${port()}/in HTTP/1.1\r\nConnection: content-length, host\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`, undefined, 500);
      const got = Buffer.concat(received.slice(before)).toString("latin1");
      expect(got).toBe(`POST /in HTTP/1.1\r\nHost: localhost:${port()}\r\nContent-Length: ${smuggled.length}\r\nConnection: close\r\n\r\n${smuggled}`);
    });
  });
});
