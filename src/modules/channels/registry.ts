// The webhook route's view of the paired channels: opaque hook id → (tenant, channel, kind), kept in
// memory and changed at once by pair, unpair, restore and delete (a delivery in flight after an unpair
// finds nothing), and each channel's opened secrets, cached (dropped with the channel).
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
  const byHook = new Map<string, HookEntry>();
  const secrets = new Map<string, ChannelSecrets | null>();
  const ck = (tenantId: string, channelId: string) => `${tenantId}\u0000${channelId}`;

  const forget = (tenantId: string, channelId?: string) => {
    for (const [hook, e] of byHook) if (e.tenantId === tenantId && (channelId === undefined || e.channelId === channelId)) byHook.delete(hook);
    for (const key of secrets.keys()) if (key.startsWith(`${tenantId}\u0000`) && (channelId === undefined || key === ck(tenantId, channelId))) secrets.delete(key);
  };

  return {
    load(): void {
      byHook.clear();
      secrets.clear();
      for (const r of deps.store.allAccounts.all() as AccountRow[]) byHook.set(r.hookId, { tenantId: r.tenantId, channelId: r.id, kind: r.kind });
    },
    add(r: Pick<AccountRow, "hookId" | "tenantId" | "id" | "kind">): void {
      byHook.set(r.hookId, { tenantId: r.tenantId, channelId: r.id, kind: r.kind });
    },
    remove(tenantId: string, channelId: string): void {
      forget(tenantId, channelId);
    },
    /** A tenant's rows were replaced (restore) or deleted: its entries are read again from the table. */
    reloadTenant(tenantId: string): void {
      forget(tenantId);
      for (const r of deps.store.accountsOf.all(tenantId) as AccountRow[]) byHook.set(r.hookId, { tenantId: r.tenantId, channelId: r.id, kind: r.kind });
    },
    lookup(hookId: string): HookEntry | undefined {
      return byHook.get(hookId);
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
    size: () => byHook.size,
  };
}

export type Registry = ReturnType<typeof createRegistry>;
