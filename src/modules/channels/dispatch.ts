// Inbound messages become agent runs, fairly. Each channel has a bounded queue (overflow: the message
// is dropped, counted); a tenant's channels are served round-robin with at most
// maxConcurrentRunsPerTenant runs at once, so one chat's flood cannot starve the tenant's other
// channels (the least recently served channel goes next), and each tenant has its own allowance, so it cannot starve other tenants. One session runs
// one message at a time (the agent runtime allows one run per session); the others wait their turn.
//
// A message's run: the agent run in its session (idempotency key channel:<channel>:<delivery>, so a
// message dispatched again after a restart is the same run), "typing…" while it goes, the answer sent
// back with retries, the outcome recorded on its inbox row and the channel's counters.
import type { Logger } from "../../core/logger.ts";
import { toAppError } from "../../core/errors.ts";
import type { RunsService } from "../agents/runs.service.ts";
import type { SessionsService } from "../agents/sessions.service.ts";
import type { EventsService } from "../events/events.service.ts";
import { channelIdentity, channelOwnerScope, type TenantState } from "./channels.identity.ts";
import type { AccountRow, ChannelStore, InboxRow } from "./channels.store.ts";
import type { ChannelOptions } from "./channels.types.ts";
import { kindOf } from "./kinds/index.ts";
import type { PlatformApi } from "./kinds/kind.ts";
import type { Registry } from "./registry.ts";

interface Item {
  channelId: string;
  deliveryId: string;
  sessionKey: string;
}

interface TenantQueue {
  running: number;
  channels: Map<string, Item[]>;
  busy: Set<string>;
  /** When each channel was last served (a counter): the least recently served goes next. */
  served: Map<string, number>;
  turn: number;
  controllers: Map<AbortController, string>;
  done: Set<Promise<void>>;
}

export interface DispatchDeps {
  store: ChannelStore;
  registry: Registry;
  runs: RunsService;
  sessions: SessionsService;
  events: EventsService;
  tenants: TenantState;
  log: Logger;
  /** The tenant's audited-change bucket (gateway.limits.tenantChangesPerMinute), spent by a message that creates a session; throws RATE_LIMITED. */
  spendChange(tenantId: string, method: string): void;
  now(): number;
  limits(): { maxConcurrentRunsPerTenant: number; maxQueuedPerChannel: number; sendRetries: number };
  api(kind: string, options: ChannelOptions): PlatformApi;
  send(row: AccountRow, api: PlatformApi, to: { chatId: string; threadId?: string; peerId?: string; replyContext?: Record<string, string> }, text: string, signal: AbortSignal): Promise<void>;
}

export function createDispatcher(deps: DispatchDeps) {
  const { store } = deps;
  const tenants = new Map<string, TenantQueue>();
  // Set while the gateway shuts down: runs cut short leave their rows open, to be dispatched again at start.
  let closing = false;
  const queueOf = (tenantId: string): TenantQueue => {
    let q = tenants.get(tenantId);
    if (!q) tenants.set(tenantId, (q = { running: 0, channels: new Map(), busy: new Set(), served: new Map(), turn: 0, controllers: new Map(), done: new Set() }));
    return q;
  };
  const finish = (r: { tenantId: string; channelId: string; deliveryId: string }, status: InboxRow["status"], error: string | null, runId: string | null = null) =>
    store.setInbox.run(r.tenantId, r.channelId, r.deliveryId, status, error ? error.slice(0, 500) : null, runId);

  /** The next item, from the least recently served of the tenant's channels that has one whose session is free. */
  function next(q: TenantQueue): Item | null {
    let best: { id: string; at: number; served: number } | null = null;
    for (const [id, items] of q.channels) {
      const at = items.findIndex((it) => !q.busy.has(it.sessionKey));
      if (at < 0) continue;
      const served = q.served.get(id) ?? 0;
      if (!best || served < best.served) best = { id, at, served };
    }
    if (!best) return null;
    const items = q.channels.get(best.id)!;
    const [item] = items.splice(best.at, 1);
    if (items.length === 0) q.channels.delete(best.id);
    q.served.set(best.id, ++q.turn);
    if (q.served.size > 1000) for (const id of q.served.keys()) if (!q.channels.has(id)) q.served.delete(id);
    return item!;
  }

  /**
   * Runs one piece of a channel's work (a message's run and reply, a notice) so that whatever stops it
   * reaches it: an unpair (cancelChannel), the tenant stopped here (stopTenant), and — through the
   * tenant lifecycle's watch — the tenant suspended, deleted or replaced by another process.
   */
  function track(q: TenantQueue, tenantId: string, channelId: string, work: (signal: AbortSignal) => Promise<void>, after: () => void): void {
    const ctl = new AbortController();
    q.controllers.set(ctl, channelId);
    const incarnation = deps.tenants.incarnation(tenantId);
    const watch = incarnation !== null ? deps.tenants.watch?.({ tenantId, incarnation }) : undefined;
    const p: Promise<void> = work(ctl.signal)
      .catch((err) => deps.log.error("channel dispatch failed", { tenant: tenantId, channel: channelId, error: String(err) }))
      .finally(() => {
        watch?.end();
        q.controllers.delete(ctl);
        q.done.delete(p);
        after();
      });
    q.done.add(p);
  }

  function pump(tenantId: string): void {
    const q = tenants.get(tenantId);
    if (!q) return;
    const max = deps.limits().maxConcurrentRunsPerTenant;
    while (q.running < max) {
      const item = next(q);
      if (!item) break;
      q.running++;
      q.busy.add(item.sessionKey);
      track(q, tenantId, item.channelId, (signal) => run(tenantId, item, signal), () => {
        q.running--;
        q.busy.delete(item.sessionKey);
        pump(tenantId);
      });
    }
  }

  async function run(tenantId: string, item: Item, signal: AbortSignal): Promise<void> {
    const key = { tenantId, channelId: item.channelId, deliveryId: item.deliveryId };
    const acc = store.account.get(tenantId, item.channelId) as AccountRow | null;
    const row = store.inbox.get(tenantId, item.channelId, item.deliveryId) as InboxRow | null;
    if (!acc || !row || (row.status !== "queued" && row.status !== "running")) return;
    const incarnation = deps.tenants.incarnation(tenantId);
    if (incarnation === null || !deps.tenants.isActive(tenantId)) return void finish(key, "dropped", "the tenant is not active");
    const kind = kindOf(acc.kind);
    const secrets = deps.registry.secretsOf(acc);
    if (!kind || !secrets) return void finish(key, "failed", "the channel's secrets cannot be opened");
    const options = JSON.parse(acc.options) as ChannelOptions;
    const identity = channelIdentity(deps.tenants, acc, incarnation);
    const to = { chatId: row.chatId, ...(row.threadId ? { threadId: row.threadId } : {}), peerId: row.peerId, ...(row.replyContext ? { replyContext: JSON.parse(row.replyContext) as Record<string, string> } : {}) };
    let api: PlatformApi | null = null;
    try {
      api = deps.api(acc.kind, options);
    } catch (err) {
      // No way to answer (a webhook channel without a callback): the run still happens, in its session.
      deps.log.warn("channel has no reply route", { tenant: tenantId, channel: acc.id, error: String(err) });
    }
    finish(key, "running", null);
    let typing: Timer | null = null;
    if (kind.typing && api) {
      const t = () => void kind.typing!(api!, secrets, to).catch(() => {});
      t();
      typing = setInterval(t, 4500);
    }
    let text: string;
    let runError: string | null = null;
    let runId: string | null = null;
    try {
      identity.assertCurrent();
      // A new conversation creates a session (an audited change): it spends the tenant's change budget,
      // as a session made over any other surface does, so forged senders cannot mint sessions at the
      // channel rate limits. A conversation that has its session goes on.
      if (!deps.sessions.find(identity, row.sessionKey)) deps.spendChange(tenantId, "channels.message");
      const sent = deps.runs.send(identity, { sessionKey: row.sessionKey, ...(options.agentId ? { agentId: options.agentId } : {}), message: row.message ?? "", idempotencyKey: `channel:${acc.id}:${row.deliveryId}` }, { actor: identity.actor, requestId: `chan_${acc.id}` });
      runId = sent.runId;
      finish(key, "running", null, runId);
      const abort = () => deps.runs.abort(identity, { runId: sent.runId });
      signal.addEventListener("abort", abort, { once: true });
      try {
        await sent.durable;
        const end = (sent.done ? await sent.done : await deps.runs.wait(identity, { runId: sent.runId, timeoutMs: 300_000 })) as { status: string; text?: string | null; error?: { code: string } | null; errorCode?: string | null };
        if (end.status === "ok") text = end.text ?? "";
        else {
          runError = `agent run ${end.status}: ${end.error?.code ?? end.errorCode ?? "error"}`;
          text = `(The assistant could not answer: ${end.error?.code ?? end.errorCode ?? end.status}.)`;
        }
      } finally {
        signal.removeEventListener("abort", abort);
      }
    } catch (err) {
      const e = toAppError(err);
      runError = `agent run refused: ${e.code}: ${e.message}`;
      text = `(The assistant could not answer: ${e.code}.)`;
    } finally {
      if (typing) clearInterval(typing);
    }
    if (signal.aborted) return closing ? undefined : void finish(key, "dropped", "the channel was unpaired or its tenant stopped", runId);
    if (!api) {
      store.count.run(tenantId, acc.id, 0, 0, 1, 0, 0);
      return void finish(key, "failed", "no reply route (options.callbackUrl)", runId);
    }
    try {
      await deps.send(acc, api, to, text, signal);
      store.count.run(tenantId, acc.id, 0, runError ? 0 : 1, runError ? 1 : 0, 0, 0);
      finish(key, runError ? "failed" : "replied", runError, runId);
      deps.events.publish(channelOwnerScope(acc), { method: "channels", params: { action: "replied", channelId: acc.id, deliveryId: row.deliveryId, status: runError ? "failed" : "replied" }, sessionKey: row.sessionKey });
    } catch (err) {
      const why = `the reply could not be delivered: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500);
      store.count.run(tenantId, acc.id, 0, 0, 1, 0, 0);
      store.setLastError.run(tenantId, acc.id, why, deps.now());
      finish(key, signal.aborted ? "dropped" : "failed", why, runId);
      deps.events.publish(channelOwnerScope(acc), { method: "channels", params: { action: "failed", channelId: acc.id, deliveryId: row.deliveryId, error: why }, sessionKey: row.sessionKey });
      try {
        // The failure is kept where the conversation is: a note in the session's transcript.
        const s = deps.sessions.find(identity, row.sessionKey);
        if (s && !deps.runs.activeRun(identity, row.sessionKey)) deps.sessions.append(identity, s, { type: "error", ts: deps.now(), runId: runId ?? "none", code: "CHANNEL_SEND_FAILED", message: why });
      } catch {
        // best effort (the transcript may be full)
      }
    }
  }

  return {
    /** Queues a recorded message; false (the row marked dropped) when the channel's queue is full. */
    enqueue(row: Pick<InboxRow, "tenantId" | "channelId" | "deliveryId" | "sessionKey">): boolean {
      const q = queueOf(row.tenantId);
      const items = q.channels.get(row.channelId) ?? [];
      if (items.length >= deps.limits().maxQueuedPerChannel) {
        finish(row, "dropped", "the channel's queue is full");
        store.count.run(row.tenantId, row.channelId, 0, 0, 0, 1, 0);
        return false;
      }
      items.push({ channelId: row.channelId, deliveryId: row.deliveryId, sessionKey: row.sessionKey });
      q.channels.set(row.channelId, items);
      pump(row.tenantId);
      return true;
    },
    /** Side work of a channel (a notice to a sender), stopped as its runs are; not counted against the runs allowed. */
    background(tenantId: string, channelId: string, work: (signal: AbortSignal) => Promise<void>): void {
      track(queueOf(tenantId), tenantId, channelId, work, () => {});
    },
    queued(tenantId: string, channelId: string): number {
      return tenants.get(tenantId)?.channels.get(channelId)?.length ?? 0;
    },
    /** Messages recorded but not answered (a restart, a restore): queued again, or dropped when they cannot go. */
    recover(tenantId: string | null): void {
      for (const r of store.open.all(tenantId) as InboxRow[]) {
        if (!deps.tenants.isActive(r.tenantId)) {
          finish(r, "dropped", "the tenant is not active");
          continue;
        }
        const q = tenants.get(r.tenantId);
        if (q && [...q.channels.values()].some((items) => items.some((i) => i.channelId === r.channelId && i.deliveryId === r.deliveryId))) continue;
        this.enqueue(r);
      }
    },
    /** Drops a channel's queue and aborts its runs (unpair). */
    cancelChannel(tenantId: string, channelId: string): void {
      const q = tenants.get(tenantId);
      if (!q) return;
      q.channels.delete(channelId);
      for (const [ctl, ch] of q.controllers) if (ch === channelId) ctl.abort();
    },
    /** The tenant stopped: its queue is dropped (the rows marked), its runs aborted; settles when they ended. */
    stopTenant(tenantId: string): Promise<unknown> | null {
      const q = tenants.get(tenantId);
      if (!q) return null;
      for (const items of q.channels.values()) for (const it of items) finish({ tenantId, ...it }, "dropped", "the tenant stopped");
      q.channels.clear();
      for (const ctl of q.controllers.keys()) ctl.abort();
      const running = [...q.done];
      if (running.length === 0) {
        tenants.delete(tenantId);
        return null;
      }
      return Promise.allSettled(running).then(() => {
        if (tenants.get(tenantId) === q && q.running === 0 && q.channels.size === 0) tenants.delete(tenantId);
      });
    },
    /** Settles when nothing is queued or running (tests, shutdown). */
    async idle(): Promise<void> {
      for (;;) {
        const all = [...tenants.values()];
        const pending = all.flatMap((q) => [...q.done]);
        if (pending.length === 0 && all.every((q) => q.channels.size === 0)) return;
        await Promise.allSettled(pending.length ? pending : [Bun.sleep(5)]);
      }
    },
    /** Gateway shutdown: nothing more starts; rows stay open for the next start. */
    async stopAll(): Promise<void> {
      closing = true;
      const running: Promise<void>[] = [];
      for (const q of tenants.values()) {
        q.channels.clear();
        for (const ctl of q.controllers.keys()) ctl.abort();
        running.push(...q.done);
      }
      await Promise.allSettled(running);
      tenants.clear();
    },
    reopen(): void {
      closing = false;
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
