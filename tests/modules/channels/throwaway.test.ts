// The throwaway secrets an unknown hook id's delivery is checked against must make each kind's verify
// do the work a real channel's does: the same fields, of the form the kind itself accepts (so no
// check before the crypto fails early on them), and for Discord a real Ed25519 key made at start.
import { describe, expect, test } from "bun:test";
import { generateKeyPairSync, sign } from "node:crypto";
import { KIND_NAMES, kindOf } from "../../../src/modules/channels/kinds/index.ts";
import { makeThrowawaySecrets } from "../../../src/modules/channels/throwaway.ts";
import { startFakeDiscord } from "../../fake-platforms/discord.ts";
import { startFakeSlack } from "../../fake-platforms/slack.ts";
import { startFakeWhatsApp } from "../../fake-platforms/whatsapp.ts";
import { inbound } from "./kinds/inbound.ts";

describe("throwaway secrets for unknown hook ids", () => {
  test("every kind has them, with a paired channel's fields, each accepted by the kind's own credential check", async () => {
    const [slack, wa, dc] = await Promise.all([startFakeSlack(), startFakeWhatsApp(), startFakeDiscord()]);
    try {
      const real: Record<string, unknown> = { telegram: { botToken: "123456:AAAAaaaaBBBBbbbbCCCCccccDDDDddddEEE" }, webhook: {}, slack: slack.credentials, whatsapp: wa.credentials, discord: dc.credentials };
      const t = makeThrowawaySecrets() as Record<string, Record<string, string>>;
      for (const name of KIND_NAMES) {
        const kind = kindOf(name)!;
        const paired = kind.validateCredentials(real[name]).secrets;
        expect({ name, fields: Object.keys(t[name] ?? {}).sort() }).toEqual({ name, fields: Object.keys(paired).sort() });
        // Given back as credentials (the secrets a kind makes itself left out), the kind accepts them.
        const given = Object.fromEntries(Object.entries(t[name]!).filter(([k]) => k in (real[name] as object)));
        expect(() => kind.validateCredentials(given)).not.toThrow();
      }
    } finally {
      slack.stop();
      wa.stop();
      dc.stop();
    }
  });

  test("Discord's is a real Ed25519 public key, made at start (not a constant): a signature is checked against it in full", () => {
    const a = makeThrowawaySecrets().discord;
    const b = makeThrowawaySecrets().discord;
    expect(a.publicKey).toMatch(/^[0-9a-f]{64}$/);
    expect(a.publicKey).not.toBe(b.publicKey);
    expect(a.publicKey).not.toBe("00".repeat(32));
    // A well-formed, fresh delivery signed by some other key reaches the Ed25519 check and fails there.
    const body = JSON.stringify({ type: 2, id: "1" });
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = sign(null, Buffer.from(ts + body), generateKeyPairSync("ed25519").privateKey).toString("hex");
    expect(kindOf("discord")!.verify(inbound(body, { "x-signature-timestamp": ts, "x-signature-ed25519": sig }), a)).toBe(false);
  });
});
