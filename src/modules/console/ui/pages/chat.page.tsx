// Chat with one of the tenant's agents: the session's history, then each turn streamed as it runs —
// the answer's text as it arrives (chat.delta) and every tool step as it happens (chat.tool call and
// result), over the tenant's WebSocket. The log is an aria-live region so the answer is read out.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Api } from "../lib/api.ts";
import { definePage } from "../lib/page.ts";
import { ErrorBox, Field, Loading, PageHeader, useAsync } from "../lib/ui.tsx";

export interface Item {
  kind: "user" | "assistant" | "tool_call" | "tool_result" | "error" | "abort";
  text: string;
  name?: string;
  isError?: boolean;
}

const SESSION_KEY = /^[a-z0-9:_-]{1,128}$/;

function preview(value: unknown, max = 2000): string {
  const s = typeof value === "string" ? value : JSON.stringify(value);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** Transcript entries (sessions.history) as the log's items. */
export function itemsOf(entries: Record<string, any>[]): Item[] {
  const out: Item[] = [];
  for (const e of entries) {
    if (e.type === "user") out.push({ kind: "user", text: String(e.content ?? e.text ?? e.message ?? "") });
    else if (e.type === "assistant") {
      if (e.text) out.push({ kind: "assistant", text: String(e.text) });
    } else if (e.type === "tool_call") out.push({ kind: "tool_call", name: e.name, text: preview(e.arguments ?? {}) });
    else if (e.type === "tool_result") out.push({ kind: "tool_result", name: e.name, text: preview(e.content ?? ""), isError: Boolean(e.isError) });
    else if (e.type === "error") out.push({ kind: "error", text: `${e.code ?? "ERROR"}: ${e.message ?? ""}` });
    else if (e.type === "abort") out.push({ kind: "abort", text: "The turn was stopped." });
  }
  return out;
}

function sessionFromHash(): string | null {
  const m = /[?&]session=([a-z0-9:_-]{1,128})/.exec(location.hash);
  return m?.[1] ?? null;
}

export function ItemView({ item }: { item: Item }) {
  if (item.kind === "user" || item.kind === "assistant")
    return (
      <div class={`msg ${item.kind}`}>
        <span class="who">{item.kind === "user" ? "You" : "Agent"}</span>
        {item.text}
      </div>
    );
  if (item.kind === "tool_call")
    return (
      <div class="tool-step" data-step="call">
        <strong>Tool call {item.name}</strong>: {item.text}
      </div>
    );
  if (item.kind === "tool_result")
    return (
      <div class={item.isError ? "tool-step error" : "tool-step"} data-step="result">
        <strong>
          Tool result {item.name}
          {item.isError ? " (error)" : ""}
        </strong>
        : {item.text}
      </div>
    );
  return (
    <div class="error-box" role="alert">
      {item.text}
    </div>
  );
}

function Chat({ api }: { api: Api }) {
  const agents = useAsync(() => api.rpc<{ agents: { id: string; model?: string }[] }>("agents.list"), []);
  const [agentId, setAgentId] = useState("main");
  const [sessionKey, setSessionKey] = useState(() => sessionFromHash() ?? "console");
  const [keyDraft, setKeyDraft] = useState(sessionKey);
  const [items, setItems] = useState<Item[]>([]);
  const [streaming, setStreaming] = useState("");
  const [running, setRunning] = useState(false);
  const [message, setMessage] = useState("");
  const [error, setError] = useState<unknown>(null);
  const logRef = useRef<HTMLDivElement>(null);
  const streamRef = useRef("");

  const history = useAsync(async () => {
    try {
      const [h, s] = await Promise.all([
        api.rpc<{ entries: Record<string, any>[] }>("sessions.history", { sessionKey, limit: 1000 }),
        api.rpc<{ activeRunId?: string | null; agentId?: string }>("sessions.get", { sessionKey }),
      ]);
      if (s.agentId) setAgentId(s.agentId);
      setRunning(Boolean(s.activeRunId));
      return itemsOf(h.entries);
    } catch (err) {
      if ((err as { code?: string }).code === "NOT_FOUND") return []; // a new session
      throw err;
    }
  }, [sessionKey]);
  useEffect(() => {
    if (history.data) setItems(history.data);
  }, [history.data]);

  // The session's events, as they are published.
  useEffect(() => {
    const mine = (p: { sessionKey?: string }) => p?.sessionKey === sessionKey;
    const flush = () => {
      if (streamRef.current) setItems((xs) => [...xs, { kind: "assistant", text: streamRef.current }]);
      streamRef.current = "";
      setStreaming("");
    };
    const offs = [
      api.onEvent("chat.delta", (p) => {
        if (!mine(p)) return;
        setRunning(true);
        streamRef.current += String(p.delta ?? "");
        setStreaming(streamRef.current);
      }),
      api.onEvent("chat.tool", (p) => {
        if (!mine(p)) return;
        flush();
        setItems((xs) => [...xs, p.phase === "call" ? { kind: "tool_call", name: p.name, text: preview(p.arguments ?? {}) } : { kind: "tool_result", name: p.name, text: preview(p.content ?? ""), isError: Boolean(p.isError) }]);
      }),
      api.onEvent("chat.final", (p) => {
        if (!mine(p)) return;
        // The final text is the whole answer of the last step: it replaces what was streamed of it.
        streamRef.current = String(p.text ?? streamRef.current);
        flush();
        setRunning(false);
      }),
      api.onEvent("chat.error", (p) => {
        if (!mine(p)) return;
        flush();
        setItems((xs) => [...xs, { kind: "error", text: `${p.code}: ${p.message}` }]);
        setRunning(false);
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [api, sessionKey]);

  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [items, streaming]);

  const send = async (e: Event) => {
    e.preventDefault();
    const text = message.trim();
    if (!text || running) return;
    setError(null);
    setRunning(true);
    setItems((xs) => [...xs, { kind: "user", text }]);
    setMessage("");
    try {
      await api.rpc("chat.send", { sessionKey, agentId, message: text, idempotencyKey: crypto.randomUUID() });
    } catch (err) {
      setRunning(false);
      setError(err);
    }
  };

  const stop = async () => {
    try {
      await api.rpc("chat.abort", { sessionKey });
    } catch (err) {
      setError(err);
    }
  };

  const switchSession = (e: Event) => {
    e.preventDefault();
    const k = keyDraft.trim();
    if (!SESSION_KEY.test(k)) return setError(new Error("A session key is 1-128 of a-z, 0-9, colon, underscore and hyphen."));
    setError(null);
    setItems([]);
    setSessionKey(k);
  };

  return (
    <section class="chat" aria-labelledby="page-title">
      <PageHeader title="Chat" />
      <form class="row card" onSubmit={switchSession}>
        {agents.loading && !agents.data ? (
          <Loading label="Loading agents…" />
        ) : agents.error ? (
          <ErrorBox error={agents.error} retry={agents.reload} />
        ) : (
          <Field label="Agent">
            <select value={agentId} onChange={(e) => setAgentId((e.target as HTMLSelectElement).value)}>
              {(agents.data?.agents ?? [{ id: "main" }]).map((a) => (
                <option key={a.id} value={a.id}>
                  {a.id}
                  {a.model ? ` (${a.model})` : ""}
                </option>
              ))}
            </select>
          </Field>
        )}
        <Field label="Session key">
          <input value={keyDraft} onInput={(e) => setKeyDraft((e.target as HTMLInputElement).value)} autoComplete="off" spellcheck={false} />
        </Field>
        <button type="submit">Open session</button>
      </form>
      {history.loading && <Loading label="Loading the conversation…" />}
      {history.error !== null && <ErrorBox error={history.error} retry={history.reload} />}
      <div class="chat-log" ref={logRef} role="log" aria-live="polite" aria-label="Conversation" tabIndex={0}>
        {items.length === 0 && !streaming && !history.loading && <p class="empty">No messages yet in session “{sessionKey}”. Say something below.</p>}
        {items.map((it, i) => (
          <ItemView key={i} item={it} />
        ))}
        {streaming && <ItemView item={{ kind: "assistant", text: streaming }} />}
        {running && <Loading label="The agent is working…" />}
      </div>
      {error !== null && <ErrorBox error={error} />}
      <form class="composer card" onSubmit={send}>
        <Field label="Message">
          <textarea
            value={message}
            onInput={(e) => setMessage((e.target as HTMLTextAreaElement).value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) send(e);
            }}
            placeholder="Ask the agent… (Ctrl+Enter sends)"
          />
        </Field>
        <div class="actions">
          <button type="submit" class="primary" disabled={running || !message.trim()}>
            Send
          </button>
          {running && (
            <button type="button" onClick={stop}>
              Stop
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

export default definePage({ id: "chat", component: Chat });
