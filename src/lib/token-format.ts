// Token format of the contract: ocmu_<tenantId>_<secret22><check6>.
//   secret22: 16 bytes from the OS CSPRNG as 22 base62 characters (fixed width);
//   check6:   CRC-32 (IEEE) of everything before it as 6 base62 characters.
// The admin key is ocmu_admin_<secret22><check6> ("admin" is a reserved tenant id, so no clash).
// Pure functions, no I/O.
import { timingSafeEqual } from "node:crypto";
import { bytesToBigInt, encodeBase62 } from "./base62.ts";
import { TENANT_ID_PATTERN } from "./ids.ts";

export const TOKEN_PREFIX = "ocmu_";
export const ADMIN_KEY_ID = "admin";
/** Published for secret scanners (README): matches tenant tokens and the admin key. */
export const TOKEN_REGEX_SOURCE = "ocmu_[a-z0-9-]{1,32}_[0-9A-Za-z]{28}";
export const TOKEN_REGEX = new RegExp(TOKEN_REGEX_SOURCE);
/** Inputs longer than this are rejected before any work (the format may grow, never past it). */
export const MAX_TOKEN_LENGTH = 255;

const SECRET_LEN = 22;
const CHECK_LEN = 6;
const TAIL = /^[0-9A-Za-z]{28}$/;

export function checksum(body: string): string {
  return encodeBase62(Bun.hash.crc32(body), CHECK_LEN);
}

export function buildToken(id: string, secret: Uint8Array): string {
  if (secret.length !== 16) throw new RangeError("token secret must be 16 bytes");
  const body = `${TOKEN_PREFIX}${id}_${encodeBase62(bytesToBigInt(secret), SECRET_LEN)}`;
  return body + checksum(body);
}

export function sha256(token: string): Buffer {
  return Buffer.from(new Bun.CryptoHasher("sha256").update(token).digest());
}

export interface MintedToken {
  token: string;
  hash: Buffer;
  displayPrefix: string;
}

export function mintToken(id: string): MintedToken {
  const token = buildToken(id, crypto.getRandomValues(new Uint8Array(16)));
  return { token, hash: sha256(token), displayPrefix: displayPrefix(token) };
}

/** "ocmu_acme_AbC1…": the id and four characters of the secret, enough to recognise a token. */
export function displayPrefix(token: string): string {
  const cut = token.length - (SECRET_LEN + CHECK_LEN) + 4;
  return `${token.slice(0, cut)}…`;
}

export type ParsedToken = { ok: true; id: string } | { ok: false; reason: "malformed" | "checksum" };

export function parseToken(token: string): ParsedToken {
  if (token.length > MAX_TOKEN_LENGTH || !token.startsWith(TOKEN_PREFIX)) return { ok: false, reason: "malformed" };
  const tail = token.slice(-(SECRET_LEN + CHECK_LEN));
  const sep = token.length - (SECRET_LEN + CHECK_LEN) - 1;
  if (sep <= TOKEN_PREFIX.length || token[sep] !== "_" || !TAIL.test(tail)) return { ok: false, reason: "malformed" };
  const id = token.slice(TOKEN_PREFIX.length, sep);
  if (id !== ADMIN_KEY_ID && !TENANT_ID_PATTERN.test(id)) return { ok: false, reason: "malformed" };
  // The checksum is public (anyone can compute it), so a plain comparison leaks nothing.
  if (checksum(token.slice(0, -CHECK_LEN)) !== token.slice(-CHECK_LEN)) return { ok: false, reason: "checksum" };
  return { ok: true, id };
}

/** Audit actor id: a 12-hex prefix of the stored SHA-256 (correlates records, reveals nothing). */
export function hashPrefix(hash: Uint8Array, tag: "tok" | "adm"): string {
  return `${tag}:${Buffer.from(hash).toString("hex").slice(0, 12)}`;
}

const DUMMY_DIGEST = sha256("ocmu_dummy_0000000000000000000000000000");

/** Constant-time compare of a presented digest against candidates; always does at least one compare. */
export function digestMatches(presented: Buffer, candidates: readonly Uint8Array[]): number {
  let found = -1;
  const list = candidates.length > 0 ? candidates : [DUMMY_DIGEST];
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    const same = c.length === 32 && timingSafeEqual(presented, c);
    if (same && candidates.length > 0 && found === -1) found = i;
  }
  return found;
}
