// Device identity in `connect` (upstream's connect-device-proof): an Ed25519 key whose id is the hex
// SHA-256 of the raw public key, signing the pipe-joined v3 payload (v2, without platform and device
// family, still accepted) over the nonce this connection was challenged with, within ±120 s. A valid
// proof adds nothing to what the tenant token grants (no pairing, no device token): it is checked so
// that a client presenting a forged, replayed or stale proof is refused rather than served.
import crypto from "node:crypto";
import type { ConnectParams } from "./handshake.ts";

export const DEVICE_SIGNATURE_SKEW_MS = 120_000;
/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

function fromBase64Url(s: string): Buffer | null {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(s)) return null;
  return Buffer.from(s.replace(/=+$/, ""), "base64url");
}

/** Upstream's normalisation of platform and device family: trimmed, ASCII lower-cased. */
function meta(value: string | undefined): string {
  return (value ?? "").trim().replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export interface DeviceProofInput {
  params: ConnectParams;
  /** The nonce of this connection's connect.challenge. */
  nonce: string;
  role: string;
  now: number;
}

/** Why a device proof was refused (logged, never told: every refusal gets the one auth error). */
export type DeviceRefusal = "device-id-mismatch" | "device-signature-stale" | "device-nonce-mismatch" | "device-signature" | "device-public-key";

/** null when there is no device block or its proof holds; else why not. */
export function checkDeviceProof({ params, nonce, role, now }: DeviceProofInput): DeviceRefusal | null {
  const device = params.device;
  if (!device) return null;
  const raw = fromBase64Url(device.publicKey);
  if (!raw || raw.length !== 32) return "device-public-key";
  if (crypto.createHash("sha256").update(raw).digest("hex") !== device.id) return "device-id-mismatch";
  if (Math.abs(now - device.signedAt) > DEVICE_SIGNATURE_SKEW_MS) return "device-signature-stale";
  if (device.nonce.trim() !== nonce) return "device-nonce-mismatch";
  const signature = fromBase64Url(device.signature);
  if (!signature || signature.length !== 64) return "device-signature";
  const token = params.auth?.token ?? params.auth?.deviceToken ?? params.auth?.bootstrapToken ?? "";
  const base = [device.id, params.client.id, params.client.mode, role, (params.scopes ?? []).join(","), String(device.signedAt), token, device.nonce.trim()];
  const v3 = ["v3", ...base, meta(params.client.platform), meta(params.client.deviceFamily)].join("|");
  const v2 = ["v2", ...base].join("|");
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
  } catch {
    return "device-public-key";
  }
  for (const payload of [v3, v2]) {
    if (crypto.verify(null, Buffer.from(payload, "utf8"), key, signature)) return null;
  }
  return "device-signature";
}
