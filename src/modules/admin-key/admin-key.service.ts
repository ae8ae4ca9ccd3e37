// The control-plane (admin) key: ocmu_admin_<secret22><check6>. Only its SHA-256 is kept, as
// controlPlane.apiKeyHash in the gateway config; OPENCLAW_ADMIN_KEY in the environment also works.
import fs from "node:fs";
import { applyEdits, modify } from "jsonc-parser";
import { parseJsonc } from "../../config/jsonc.ts";
import { CONFIG_FILE } from "../../config/load.ts";
import { writeFileAtomic } from "../../lib/fs-durable.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import { ADMIN_KEY_ID, digestMatches, hashPrefix, mintToken, parseToken, sha256 } from "../../lib/token-format.ts";

export interface AdminKeyCheck {
  ok: boolean;
  actorId?: string;
}

/** Digests the gateway accepts: the config's hash and the environment key's hash. */
export function acceptedAdminDigests(apiKeyHash: string | undefined, envKey: string | undefined): Buffer[] {
  const out: Buffer[] = [];
  if (apiKeyHash) out.push(Buffer.from(apiKeyHash, "hex"));
  if (envKey) out.push(sha256(envKey));
  return out;
}

export function verifyAdminKey(presented: string, accepted: readonly Buffer[]): AdminKeyCheck {
  const digest = sha256(presented);
  const parsed = parseToken(presented);
  const i = digestMatches(digest, accepted);
  if (!parsed.ok || parsed.id !== ADMIN_KEY_ID || i < 0) return { ok: false };
  return { ok: true, actorId: hashPrefix(digest, "adm") };
}

/** Mints a new admin key, stores its hash in <home>/openclaw.json (comments kept), prints it once. */
export function rotateAdminKey(deps: { configFile: string; audit: AuditLog }, ctx: OpContext): { key: string; keyId: string } {
  const minted = mintToken(ADMIN_KEY_ID);
  const hashHex = minted.hash.toString("hex");
  const keyId = hashPrefix(minted.hash, "adm");
  const exists = fs.existsSync(deps.configFile);
  const before = exists ? fs.readFileSync(deps.configFile, "utf8") : "{}\n";
  parseJsonc(before, CONFIG_FILE); // refuse to edit a file we cannot parse
  const edits = modify(before, ["controlPlane", "apiKeyHash"], hashHex, { formattingOptions: { insertSpaces: true, tabSize: 2 } });
  const after = applyEdits(before, edits);
  deps.audit.transact(
    { actor: ctx.actor, action: "admin_key.rotate", target: { type: "admin_key", id: "controlPlane" }, requestId: ctx.requestId, clientRequestId: ctx.clientRequestId, src: { ip: ctx.ip }, details: { next: keyId } },
    (onRollback) => {
      writeFileAtomic(deps.configFile, after);
      onRollback(() => (exists ? writeFileAtomic(deps.configFile, before) : fs.rmSync(deps.configFile, { force: true })));
    },
  );
  return { key: minted.token, keyId };
}

/** The admin key as the gateway holds it: the digests it accepts now, and rotation. */
export function createAdminKeyService(deps: { configFile: string; audit: AuditLog; apiKeyHash: () => string | undefined; envKey: string | undefined }) {
  let cache: { hash: string | undefined; digests: Buffer[] } | null = null;
  return {
    /** Digests accepted now: the config's controlPlane.apiKeyHash and OPENCLAW_ADMIN_KEY's. */
    digests(): Buffer[] {
      const hash = deps.apiKeyHash();
      if (!cache || cache.hash !== hash) cache = { hash, digests: acceptedAdminDigests(hash, deps.envKey) };
      return cache.digests;
    },
    rotate: (ctx: OpContext) => rotateAdminKey(deps, ctx),
  };
}

export type AdminKeyService = ReturnType<typeof createAdminKeyService>;
