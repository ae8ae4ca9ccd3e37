// The webhook route's view of the paired channels: opaque hook id → (tenant, channel, kind), read from
// the table at each delivery (the unique index on hook_id) rather than kept in memory, so a pair,
// unpair, restore or delete made by another process (the CLI on the same home) holds at once here too
// and a known id costs the same one look-up as an unknown one; and each channel's opened secrets,
// cached (dropped with the channel).
import { randomBytes } from "node:crypto";
import type { ChannelSecrets } from "./kinds/kind.ts";
import { openSecrets } from "./secrets.ts";
import type { AccountRow, ChannelStore } from "./channels.store.ts";

export interface HookEntry {
  tenantId: string;
  channelId: string;
  kind: string;
}

const B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const B32 = "abcdefghijklmnopqrstuvwxyz234567";

/** 32 random bytes in base62 (43 characters): the path id, which says nothing of its tenant. */
export function newHookId(): string {
  let n = BigInt(`0x${randomBytes(32).toString("hex")}`);
  let s = "";
  for (let i = 0; i < 43; i++) {
    s += B62[Number(n % 62n)];
    n /= 62n;
  }
  return s;
}

export function newChannelId(): string {
  return `ch_${[...randomBytes(20)].map((b) => B32[b & 31]).join("")}`;
}

export function createRegistry(deps: { store: ChannelStore; secretKey(): string | undefined }) {
  const secrets = new Map<string, ChannelSecrets | null>();
  const ck = (tenantId: string, channelId: string) => `${tenantId}\u0000${channelId}`;

  const forget = (tenantId: string, channelId?: string) => {
    for (const key of secrets.keys()) if (key.startsWith(`${tenantId}\u0000`) && (channelId === undefined || key === ck(tenantId, channelId))) secrets.delete(key);
  };

  return {
    load(): void {
      secrets.clear();
    },
    remove(tenantId: string, channelId: string): void {
      forget(tenantId, channelId);
    },
    /** A tenant's rows were replaced (restore) or deleted: its cached secrets are dropped. */
    reloadTenant(tenantId: string): void {
      forget(tenantId);
    },
    /** The channel a hook id names, as stored now (null: none). */
    account(hookId: string): AccountRow | null {
      return (deps.store.accountByHook.get(hookId) as AccountRow | null) ?? null;
    },
    lookup(hookId: string): HookEntry | undefined {
      const r = deps.store.accountByHook.get(hookId) as AccountRow | null;
      return r ? { tenantId: r.tenantId, channelId: r.id, kind: r.kind } : undefined;
    },
    /** The channel's secrets, or null when this gateway's key cannot open them. */
    secretsOf(r: AccountRow): ChannelSecrets | null {
      const key = ck(r.tenantId, r.id);
      if (secrets.has(key)) return secrets.get(key)!;
      const s = openSecrets(deps.secretKey(), { tenantId: r.tenantId, channelId: r.id, kind: r.kind }, r.secretsEnc);
      // Only a success is cached: a key set later (a config reload) opens them then.
      if (s) secrets.set(key, s);
      return s;
    },
  };
}

export type Registry = ReturnType<typeof createRegistry>;
