// Who may talk to a channel's agent (options.dmPolicy, as upstream's): "open" (anyone), "allowlist"
// (the ids in allowFrom; others ignored), "pairing" (the default: allowFrom and the senders the tenant
// approved; an unknown sender gets a one-time code, which the tenant approves with channels.approve).
// Groups go through when the policy is open or the group's id is in allowFrom.
//
// A code is not stored: it is an HMAC of (tenant, channel, sender, expiry) under the gateway's
// channels key, so the same sender asking again gets the same code while it is valid (and no new
// row); only its SHA-256 is stored, for approve to find the sender by. Pending senders are capped per
// channel; past the cap new senders are ignored.
import { createHash, createHmac } from "node:crypto";
import type { InboundMessage } from "./kinds/kind.ts";
import type { ChannelStore } from "./channels.store.ts";
import type { ChannelOptions } from "./channels.types.ts";

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

export type Verdict = { allow: true } | { allow: false; reason: string; code?: string; expiresAt?: number };

export interface PolicyDeps {
  store: ChannelStore;
  secretKey(): string | undefined;
  limits(): { ttlMs: number; maxPending: number };
}

function codeFor(key: string, tenantId: string, channelId: string, peerId: string, expiresAt: number): string {
  const mac = createHmac("sha256", key).update(`pairing|${tenantId}|${channelId}|${peerId}|${expiresAt}`).digest();
  return [...mac.subarray(0, 8)].map((b) => ALPHABET[b & 31]).join("");
}

/** The stored form of a code: its hash, bound to the channel. */
export function codeHash(channelId: string, code: string): string {
  return createHash("sha256").update(`${channelId}|${normalizeCode(code)}`).digest("hex");
}

/** "abcd-efgh", "ABCD EFGH" → "ABCDEFGH". */
export function normalizeCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, "");
}

export const showCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`;

export function createPolicy(deps: PolicyDeps) {
  return {
    decide(tenantId: string, channelId: string, options: ChannelOptions, msg: InboundMessage, now: number): Verdict {
      const policy = options.dmPolicy ?? "pairing";
      const allowFrom = options.allowFrom ?? [];
      if (policy === "open") return { allow: true };
      if (msg.chat.type === "group") return allowFrom.includes(msg.chat.id) ? { allow: true } : { allow: false, reason: "group not in allowFrom" };
      if (allowFrom.includes(msg.peerId)) return { allow: true };
      if (policy === "allowlist") return { allow: false, reason: "sender not in allowFrom" };
      const peer = deps.store.peer.get(tenantId, channelId, msg.peerId) as { state: string; expiresAt: number | null } | null;
      if (peer?.state === "allowed") return { allow: true };
      const key = deps.secretKey();
      if (!key) return { allow: false, reason: "awaiting pairing" };
      if (peer && peer.expiresAt !== null && peer.expiresAt > now) {
        return { allow: false, reason: "awaiting pairing", code: codeFor(key, tenantId, channelId, msg.peerId, peer.expiresAt), expiresAt: peer.expiresAt };
      }
      const { ttlMs, maxPending } = deps.limits();
      deps.store.pruneExpired.run(tenantId, channelId, now);
      const { n } = deps.store.countPending.get(tenantId, channelId, now) as { n: number };
      if (n >= maxPending) return { allow: false, reason: "too many senders awaiting pairing" };
      const expiresAt = now + ttlMs;
      const code = codeFor(key, tenantId, channelId, msg.peerId, expiresAt);
      deps.store.upsertPending.run(tenantId, channelId, msg.peerId, msg.peerName ?? null, codeHash(channelId, code), expiresAt, now);
      return { allow: false, reason: "awaiting pairing", code, expiresAt };
    },

    /** The pending sender a code names (null: no such code, or expired), made allowed. */
    approve(tenantId: string, channelId: string, code: string, now: number): { peerId: string } | null {
      const peer = deps.store.byCode.get(tenantId, channelId, codeHash(channelId, code), now) as { peerId: string } | null;
      if (!peer) return null;
      deps.store.allow.run(tenantId, channelId, peer.peerId);
      return { peerId: peer.peerId };
    },
  };
}

export type Policy = ReturnType<typeof createPolicy>;
