// Channel credentials at rest: AES-256-GCM under a key derived per row from the gateway's
// gateway.channels.secretKey.
//
//   key   = HKDF-SHA256(secretKey, salt (16 random bytes per row), "openclawmu channel v1")
//   AAD   = "<tenantId>|<channelId>|<kind>"
//   blob  = version (1) | salt (16) | iv (12) | tag (16) | ciphertext      (stored base64url as text)
//
// The AAD binds a ciphertext to its row: copied into another tenant's or another channel's row it
// fails to open (nothing is returned). The blob travels as it is in backups (a restore on a gateway
// with another key cannot open it: the channel shows an error, nothing leaks).
import crypto from "node:crypto";
import { AppError } from "../../core/errors.ts";
import type { ChannelSecrets } from "./kinds/kind.ts";

const VERSION = 1;
const INFO = Buffer.from("openclawmu channel v1");
const HEAD = 1 + 16 + 12 + 16;

export const NO_KEY_MESSAGE = "set gateway.channels.secretKey to pair channels (32+ random characters, e.g. `openssl rand -base64 32`)";
export const WRONG_KEY_MESSAGE = "secrets cannot be opened with this gateway's channels.secretKey";

export interface SecretOwner {
  tenantId: string;
  channelId: string;
  kind: string;
}

function keyOf(secretKey: string, salt: Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync("sha256", Buffer.from(secretKey, "utf8"), salt, INFO, 32));
}

const aadOf = (o: SecretOwner) => Buffer.from(`${o.tenantId}|${o.channelId}|${o.kind}`, "utf8");

/** The gateway's key, or CONFIG_INVALID naming the setting (pairing is refused without it). */
export function requireKey(secretKey: string | undefined): string {
  if (!secretKey) throw new AppError("CONFIG_INVALID", NO_KEY_MESSAGE);
  if (secretKey.length < 16) throw new AppError("CONFIG_INVALID", "gateway.channels.secretKey must be at least 16 characters");
  return secretKey;
}

export function sealSecrets(secretKey: string, owner: SecretOwner, secrets: ChannelSecrets): string {
  const salt = crypto.randomBytes(16);
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", keyOf(secretKey, salt), iv);
  cipher.setAAD(aadOf(owner));
  const body = Buffer.concat([cipher.update(JSON.stringify(secrets), "utf8"), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), salt, iv, cipher.getAuthTag(), body]).toString("base64url");
}

/** The secrets, or null when they cannot be opened (another key, another row, tampered). Never throws. */
export function openSecrets(secretKey: string | undefined, owner: SecretOwner, sealed: string): ChannelSecrets | null {
  if (!secretKey) return null;
  try {
    const b = Buffer.from(sealed, "base64url");
    if (b.length < HEAD || b[0] !== VERSION) return null;
    const salt = b.subarray(1, 17);
    const iv = b.subarray(17, 29);
    const tag = b.subarray(29, 45);
    const decipher = crypto.createDecipheriv("aes-256-gcm", keyOf(secretKey, salt), iv);
    decipher.setAAD(aadOf(owner));
    decipher.setAuthTag(tag);
    const plain = Buffer.concat([decipher.update(b.subarray(HEAD)), decipher.final()]).toString("utf8");
    const v = JSON.parse(plain) as unknown;
    if (!v || typeof v !== "object" || Array.isArray(v)) return null;
    return v as ChannelSecrets;
  } catch {
    return null;
  }
}

/** "…wxyz": the last four characters of a secret (nothing of a short one). */
export function maskSecret(value: string): string {
  return value.length >= 12 ? `…${value.slice(-4)}` : "…";
}

/** Constant-time equality of two strings (false on different lengths, without an early exit on content). */
export function sameSecret(a: string, b: string): boolean {
  const x = crypto.createHash("sha256").update(a).digest();
  const y = crypto.createHash("sha256").update(b).digest();
  return crypto.timingSafeEqual(x, y) && a.length === b.length;
}
