// The tenant's sessions, newest activity first, with each one's history on demand; a session opens
// in the chat page, and can be deleted (after a confirmation).
import { useState } from "preact/hooks";
import type { Api } from "../lib/api.ts";
import { definePage } from "../lib/page.ts";
import { ConfirmButton, DataTable, Empty, ErrorBox, Loading, PageHeader, useAsync, when } from "../lib/ui.tsx";
import { ItemView, itemsOf } from "./chat.page.tsx";

interface SessionRow {
  key: string;
  agentId: string;
  updatedAt: number;
  entries: number;
  inputTokens: number;
  outputTokens: number;
  costMicroUsd: number;
  runs: number;
}

function History({ api, sessionKey }: { api: Api; sessionKey: string }) {
  const h = useAsync(() => api.rpc<{ entries: Record<string, any>[] }>("sessions.history", { sessionKey, limit: 1000 }), [sessionKey]);
  if (h.loading) return <Loading label="Loading history…" />;
  if (h.error) return <ErrorBox error={h.error} retry={h.reload} />;
  const items = itemsOf(h.data?.entries ?? []);
  return (
    <section class="card" aria-label={`History of ${sessionKey}`}>
      <h2>History of “{sessionKey}”</h2>
      {items.length === 0 ? (
        <Empty>This session has no entries.</Empty>
      ) : (
        <div class="chat-log">
          {items.map((it, i) => (
            <ItemView key={i} item={it} />
          ))}
        </div>
      )}
    </section>
  );
}

function Sessions({ api }: { api: Api }) {
  const [shown, setShown] = useState<string | null>(null);
  const [more, setMore] = useState<SessionRow[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const list = useAsync(async () => {
    const r = await api.rpc<{ sessions: SessionRow[]; nextCursor: string | null }>("sessions.list", { limit: 100 });
    setMore([]);
    setCursor(r.nextCursor);
    return r.sessions;
  }, []);
  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const r = await api.rpc<{ sessions: SessionRow[]; nextCursor: string | null }>("sessions.list", { limit: 100, cursor });
      setMore((m) => [...m, ...r.sessions]);
      setCursor(r.nextCursor);
    } catch (err) {
      setError(err);
    } finally {
      setLoadingMore(false);
    }
  };
  const remove = async (key: string) => {
    setError(null);
    try {
      await api.rpc("sessions.delete", { sessionKey: key });
      if (shown === key) setShown(null);
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const rows = [...(list.data ?? []), ...more];
  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Sessions"
        actions={
          <button type="button" onClick={list.reload} disabled={list.loading}>
            Refresh
          </button>
        }
      />
      {error !== null && <ErrorBox error={error} />}
      {list.loading && <Loading label="Loading sessions…" />}
      {list.error !== null && <ErrorBox error={list.error} retry={list.reload} />}
      {list.data && (
        <DataTable<SessionRow>
          caption="Your sessions"
          rows={rows}
          empty="No sessions yet: start one on the Chat page."
          columns={[
            { key: "key", label: "Session", render: (r) => <code>{r.key}</code> },
            { key: "agentId", label: "Agent" },
            { key: "updatedAt", label: "Last activity", render: (r) => when(r.updatedAt) },
            { key: "entries", label: "Entries", num: true },
            { key: "tokens", label: "Tokens", num: true, render: (r) => String(r.inputTokens + r.outputTokens) },
            { key: "cost", label: "Cost (USD)", num: true, render: (r) => (r.costMicroUsd / 1e6).toFixed(4) },
            {
              key: "actions",
              label: "Actions",
              render: (r) => (
                <span class="file-actions">
                  <button type="button" aria-expanded={shown === r.key} onClick={() => setShown(shown === r.key ? null : r.key)}>
                    {shown === r.key ? "Hide" : "History"}
                    <span class="sr-only"> of {r.key}</span>
                  </button>
                  <a href={`#/chat?session=${encodeURIComponent(r.key)}`}>
                    Open in chat<span class="sr-only"> ({r.key})</span>
                  </a>
                  <ConfirmButton confirmLabel={`Delete ${r.key}`} onConfirm={() => remove(r.key)}>
                    Delete<span class="sr-only"> {r.key}</span>
                  </ConfirmButton>
                </span>
              ),
            },
          ]}
        />
      )}
      {cursor && (
        <button type="button" onClick={loadMore} disabled={loadingMore}>
          {loadingMore ? "Loading…" : "Load more"}
        </button>
      )}
      {shown && <History api={api} sessionKey={shown} />}
    </section>
  );
}

export default definePage({ id: "sessions", component: Sessions });
