// Telegram's long polling, for a bot whose webhook the platform cannot reach (options.mode
// "polling"): one getUpdates loop per such channel, its offset kept in the channel's row (a restart
// resumes after the last update taken). The updates go the way a webhook's do after the HTTP layer —
// inbox row, replay guard, policy, limits, queue — with no signature to check: the channel's own
// token fetched them from the operator's API base. A loop ends on unpair, when its tenant is deleted or
// replaced, and when the gateway closes (a suspended tenant's idles); a failing poll waits (backoff to a minute) and records the error.
import type { Logger } from "../../core/logger.ts";
import type { AccountRow, ChannelStore } from "./channels.store.ts";
import type { ChannelOptions } from "./channels.types.ts";
import type { InboundMessage, PlatformApi } from "./kinds/kind.ts";
import { getUpdates, messagesOfUpdates } from "./kinds/telegram.ts";
import type { Registry } from "./registry.ts";

export const POLL_TIMEOUT_SECONDS = 25;

export interface PollerDeps {
  store: ChannelStore;
  registry: Registry;
  log: Logger;
  now(): number;
  isActive(tenantId: string): boolean;
  api(kind: string, options: ChannelOptions): PlatformApi;
  accept(acc: AccountRow, messages: InboundMessage[]): void;
  /** Long-poll timeout (tests shorten it). */
  timeoutSeconds?: number;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
  });
}

export function createPollers(deps: PollerDeps) {
  const loops = new Map<string, AbortController>();
  const key = (tenantId: string, channelId: string) => `${tenantId}\u0000${channelId}`;

  async function loop(tenantId: string, channelId: string, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const acc = deps.store.account.get(tenantId, channelId) as AccountRow | null;
      if (!acc) return;
      // A suspended tenant's loop idles (its updates stay with Telegram) until it is resumed.
      if (!deps.isActive(tenantId)) {
        await pause(5000, signal);
        continue;
      }
      const secrets = deps.registry.secretsOf(acc);
      if (!secrets) return;
      try {
        const updates = await getUpdates(deps.api("telegram", JSON.parse(acc.options) as ChannelOptions), secrets, acc.pollOffset, deps.timeoutSeconds ?? POLL_TIMEOUT_SECONDS, signal);
        if (signal.aborted) return;
        const ids = updates.map((u) => (u as { update_id?: number }).update_id).filter((n): n is number => Number.isSafeInteger(n));
        if (ids.length) {
          deps.accept(acc, messagesOfUpdates(updates));
          // Confirmed to Telegram by the next call's offset, after the messages were recorded.
          deps.store.setPollOffset.run(tenantId, channelId, Math.max(...ids) + 1);
        }
        if (failures) deps.store.setLastError.run(tenantId, channelId, null, deps.now());
        failures = 0;
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        deps.store.setLastError.run(tenantId, channelId, `polling failed: ${(err as Error).message}`.slice(0, 500), deps.now());
        await pause(Math.min(60_000, 500 * 2 ** Math.min(failures, 7)), signal);
      }
    }
  }

  const pollers = {
    start(row: AccountRow): void {
      const options = JSON.parse(row.options) as ChannelOptions;
      if (row.kind !== "telegram" || options.mode !== "polling") return;
      const k = key(row.tenantId, row.id);
      if (loops.has(k)) return;
      const ctl = new AbortController();
      loops.set(k, ctl);
      void loop(row.tenantId, row.id, ctl.signal)
        .catch((err) => deps.log.error("telegram polling ended", { tenant: row.tenantId, channel: row.id, error: String(err) }))
        .finally(() => {
          if (loops.get(k) === ctl) loops.delete(k);
        });
    },
    stop(tenantId: string, channelId?: string): void {
      for (const [k, ctl] of loops) {
        if (channelId === undefined ? k.startsWith(`${tenantId}\u0000`) : k === key(tenantId, channelId)) {
          ctl.abort();
          loops.delete(k);
        }
      }
    },
    /** Starts the loops of every polling channel (of one tenant, or all). */
    startAll(tenantId: string | null): void {
      const rows = (tenantId === null ? deps.store.allAccounts.all() : deps.store.accountsOf.all(tenantId)) as AccountRow[];
      for (const r of rows) if (deps.isActive(r.tenantId)) pollers.start(r);
    },
    stopAll(): void {
      for (const ctl of loops.values()) ctl.abort();
      loops.clear();
    },
    count: () => loops.size,
  };
  return pollers;
}

export type Pollers = ReturnType<typeof createPollers>;
