// A stand-in for the Telegram Bot API (https://core.telegram.org/bots/api): POST /bot<token>/<method>
// with a JSON body, answers {ok:true,result} or {ok:false,error_code,description,parameters}. It
// records every call, knows the tokens it was told of (others: 401 Unauthorized), remembers the
// webhook and its secret_token as setWebhook set them, queues updates for getUpdates (long poll), and
// can refuse the next calls of a method with 429 (parameters.retry_after) or 5xx. `deliver` POSTs an
// update to the registered webhook the way Telegram does (X-Telegram-Bot-Api-Secret-Token).
export interface TgCall {
  token: string;
  method: string;
  body: Record<string, any>;
}

export interface FakeTelegram {
  base: string;
  calls: TgCall[];
  webhook: { url: string; secret_token?: string } | null;
  addBot(token: string, username?: string): void;
  inject(method: string, answers: ({ status: 429; retryAfter: number } | { status: 500 | 502 })[]): void;
  pushUpdate(update: Record<string, unknown>): void;
  message(opts: { updateId: number; text: string; from?: number; chat?: number; chatType?: string; threadId?: number; isBot?: boolean }): Record<string, unknown>;
  deliver(update: Record<string, unknown>, secret?: string | null, url?: string): Promise<Response>;
  sent(method?: string): TgCall[];
  stop(): void;
}

export function startFakeTelegram(): FakeTelegram {
  const bots = new Map<string, string>();
  const injected = new Map<string, ({ status: 429; retryAfter: number } | { status: 500 | 502 })[]>();
  const updates: Record<string, unknown>[] = [];
  let waiters: (() => void)[] = [];
  let messageId = 1;
  const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { "content-type": "application/json" } });
  const fake: FakeTelegram = {
    base: "",
    calls: [],
    webhook: null,
    addBot(token, username = "test_bot") {
      bots.set(token, username);
    },
    inject(method, answers) {
      injected.set(method, [...(injected.get(method) ?? []), ...answers]);
    },
    pushUpdate(u) {
      updates.push(u);
      for (const w of waiters) w();
      waiters = [];
    },
    message({ updateId, text, from = 1001, chat, chatType, threadId, isBot }) {
      const chatId = chat ?? from;
      return {
        update_id: updateId,
        message: {
          message_id: messageId++,
          date: Math.floor(Date.now() / 1000),
          text,
          from: { id: from, is_bot: isBot ?? false, first_name: `user${from}`, username: `user${from}` },
          chat: { id: chatId, type: chatType ?? (chatId === from ? "private" : "supergroup") },
          ...(threadId !== undefined ? { message_thread_id: threadId, is_topic_message: true } : {}),
        },
      };
    },
    async deliver(update, secret = fake.webhook?.secret_token ?? null, url = fake.webhook?.url) {
      return fetch(url!, { method: "POST", headers: { "content-type": "application/json", ...(secret !== null ? { "x-telegram-bot-api-secret-token": secret } : {}) }, body: JSON.stringify(update) });
    },
    sent(method) {
      return fake.calls.filter((c) => method === undefined || c.method === method);
    },
    stop() {
      server.stop(true);
    },
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url).pathname);
      if (!m) return json({ ok: false, error_code: 404, description: "Not Found" }, 404);
      const [, token, method] = m as unknown as [string, string, string];
      const text = await req.text();
      const body = text ? (JSON.parse(text) as Record<string, any>) : {};
      fake.calls.push({ token, method, body });
      if (!bots.has(token)) return json({ ok: false, error_code: 401, description: "Unauthorized" }, 401);
      const next = injected.get(method)?.shift();
      if (next?.status === 429) return json({ ok: false, error_code: 429, description: `Too Many Requests: retry after ${next.retryAfter}`, parameters: { retry_after: next.retryAfter } }, 429);
      if (next) return json({ ok: false, error_code: next.status, description: "Internal Server Error" }, next.status);
      switch (method) {
        case "getMe":
          return json({ ok: true, result: { id: Number(token.split(":")[0]), is_bot: true, first_name: "Test", username: bots.get(token) } });
        case "setWebhook":
          fake.webhook = { url: body.url, secret_token: body.secret_token };
          return json({ ok: true, result: true, description: "Webhook was set" });
        case "deleteWebhook":
          fake.webhook = null;
          return json({ ok: true, result: true, description: "Webhook was deleted" });
        case "sendMessage":
          return json({ ok: true, result: { message_id: messageId++, date: Math.floor(Date.now() / 1000), chat: { id: Number(body.chat_id), type: "private" }, text: body.text } });
        case "sendChatAction":
          return json({ ok: true, result: true });
        case "getUpdates": {
          if (fake.webhook) return json({ ok: false, error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active" }, 409);
          const offset = Number(body.offset ?? 0);
          const ready = () => updates.filter((u) => Number(u.update_id) >= offset);
          if (ready().length === 0) await Promise.race([new Promise<void>((r) => waiters.push(r)), Bun.sleep(Math.min(Number(body.timeout ?? 0), 2) * 1000)]);
          return json({ ok: true, result: ready() });
        }
        default:
          return json({ ok: false, error_code: 404, description: "Not Found: method not found" }, 404);
      }
    },
  });
  fake.base = `http://127.0.0.1:${server.port}`;
  return fake;
}
