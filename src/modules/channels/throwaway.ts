// The secrets a delivery to an unknown (or unusable) hook id is checked against, so that refusing it
// costs what refusing a real channel's bad signature costs: one set per kind, made at start-up by the
// kind's own validateCredentials from well-formed random credentials — so every check a kind's verify
// makes before its crypto passes, and the crypto runs in full (Discord: a real Ed25519 public key,
// generated here, not a constant that a key parser or a low-order point check could reject early).
// The private half is dropped at once: nothing can ever be signed for these.
import { generateKeyPairSync, randomBytes, randomInt } from "node:crypto";
import type { ChannelKindName, ChannelSecrets } from "./kinds/kind.ts";
import { kindOf } from "./kinds/index.ts";

const digits = (n: number) => Array.from({ length: n }, (_, i) => (i === 0 ? randomInt(1, 10) : randomInt(0, 10))).join("");

function ed25519PublicKeyHex(): string {
  const { publicKey } = generateKeyPairSync("ed25519");
  // The raw key is the last 32 bytes of its SubjectPublicKeyInfo DER (a 12-byte prefix).
  return (publicKey.export({ format: "der", type: "spki" }) as Buffer).subarray(12).toString("hex");
}

/** Random credentials of each kind's real shape (a kind added to ChannelKindName must be added here). */
function throwawayCredentials(): Record<ChannelKindName, Record<string, string>> {
  return {
    telegram: { botToken: `${digits(10)}:${randomBytes(26).toString("base64url").slice(0, 35)}` },
    webhook: {},
    slack: { botToken: `xoxb-${digits(12)}-${digits(13)}-${randomBytes(12).toString("hex")}`, signingSecret: randomBytes(16).toString("hex") },
    whatsapp: { accessToken: `EAAG${randomBytes(80).toString("base64url")}`, appSecret: randomBytes(16).toString("hex"), phoneNumberId: digits(15), verifyToken: randomBytes(24).toString("base64url") },
    discord: { publicKey: ed25519PublicKeyHex(), applicationId: digits(18), botToken: `${randomBytes(18).toString("base64url")}.${randomBytes(4).toString("base64url")}.${randomBytes(27).toString("base64url")}` },
  };
}

/** Per kind, secrets of the shape a paired channel of that kind has (validated by the kind itself). */
export function makeThrowawaySecrets(): Record<ChannelKindName, ChannelSecrets> {
  const creds = throwawayCredentials();
  const out = {} as Record<ChannelKindName, ChannelSecrets>;
  for (const name of Object.keys(creds) as ChannelKindName[]) {
    const kind = kindOf(name);
    if (kind) out[name] = kind.validateCredentials(creds[name]).secrets;
  }
  return out;
}
