// The audit log: committed records, newest first, filtered by tenant, action, actor, outcome and time
// range, paged (older / newer by seq); and the result of `audit verify` (the hash chain of the log
// files against state.db), run when the page opens and again on demand.
import { useState } from "preact/hooks";
import type { Api } from "../lib/api.ts";
import { definePage } from "../lib/page.ts";
import { DataTable, ErrorBox, Field, Loading, PageHeader, useAsync, when } from "../lib/ui.tsx";
import { Badge, val } from "./kit.tsx";

interface AuditRecord {
  seq: number;
  ts: string;
  actor: { kind: string; id?: string };
  action: string;
  target?: { type: string; id: string };
  tenant?: string;
  outcome: "ok" | "denied" | "error";
  requestId: string;
  details?: Record<string, unknown>;
}

interface VerifyReport {
  ok: boolean;
  checkedAt: string;
  records: number;
  files: string[];
  firstSeq: number | null;
  lastSeq: number | null;
  lastHash: string | null;
  problem?: { file: string; line: number; seq?: number; message: string };
  warnings: string[];
  rotatedAway?: { from: number; to: number };
}

const PAGE = 50;
type Filters = { tenant: string; action: string; actorKind: string; outcome: string; since: string; until: string };
const EMPTY: Filters = { tenant: "", action: "", actorKind: "", outcome: "", since: "", until: "" };

/** A datetime-local value (the browser's time zone) as an ISO time, or undefined when empty. */
const iso = (local: string): string | undefined => (local ? new Date(local).toISOString() : undefined);

function Verify({ api }: { api: Api }) {
  const v = useAsync(() => api.admin<VerifyReport>("GET", "/audit/verify"), []);
  return (
    <section class="card" aria-labelledby="verify-title">
      <h2 id="verify-title">Integrity (audit verify)</h2>
      <div class="verify">
        {v.loading && <Loading label="Verifying the hash chain…" />}
        {v.error !== null && <ErrorBox error={v.error} retry={v.reload} />}
        {v.data && !v.loading && (
          <p data-verify={v.data.ok ? "ok" : "failed"}>
            <Badge tone={v.data.ok ? "ok" : "bad"}>{v.data.ok ? "chain verified" : "verification FAILED"}</Badge>{" "}
            {v.data.ok
              ? `${v.data.records} records, seq ${v.data.firstSeq ?? "–"}..${v.data.lastSeq ?? "–"}, ${v.data.files.length} file(s), head ${v.data.lastHash?.slice(0, 12) ?? "–"}`
              : `${v.data.problem?.file}:${v.data.problem?.line}: ${v.data.problem?.seq !== undefined ? `seq ${v.data.problem.seq}: ` : ""}${v.data.problem?.message}`}
            {v.data.rotatedAway && ` (seq ${v.data.rotatedAway.from}..${v.data.rotatedAway.to} rotated away; their committed copies verify)`} — checked {when(v.data.checkedAt)}
          </p>
        )}
        <button type="button" onClick={v.reload} disabled={v.loading}>
          Verify again
        </button>
      </div>
      {v.data && v.data.warnings.length > 0 && (
        <ul>
          {v.data.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
    </section>
  );
}

function AuditLog({ api }: { api: Api }) {
  const [form, setForm] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  // The seqs each page started before (the first page: none), so "Newer" can go back.
  const [pages, setPages] = useState<(number | null)[]>([null]);
  const before = pages[pages.length - 1] ?? null;
  const query = () => {
    const p = new URLSearchParams({ limit: String(PAGE) });
    if (filters.tenant.trim()) p.set("tenant", filters.tenant.trim());
    if (filters.action.trim()) p.set("action", filters.action.trim());
    if (filters.actorKind) p.set("actorKind", filters.actorKind);
    if (filters.outcome) p.set("outcome", filters.outcome);
    const since = iso(filters.since);
    const until = iso(filters.until);
    if (since) p.set("since", since);
    if (until) p.set("until", until);
    if (before !== null) p.set("beforeSeq", String(before));
    return p.toString();
  };
  const q = query();
  // useAsync hands out rows only while `q` is still the query they answer, so a caption made from the
  // current filters and page always describes the rows under it.
  const list = useAsync(() => api.admin<{ records: AuditRecord[]; nextBeforeSeq: number | null }>("GET", `/audit?${q}`), [q]);
  const tenant = filters.tenant.trim();
  const set = (k: keyof Filters) => (e: Event) => setForm({ ...form, [k]: val(e) });
  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Audit log"
        actions={
          <button type="button" onClick={list.reload} disabled={list.loading}>
            Refresh
          </button>
        }
      />
      <Verify api={api} />
      <form
        class="card"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(form);
          setPages([null]);
        }}
      >
        <div class="row">
          <Field label="Tenant">
            <input value={form.tenant} onInput={set("tenant")} maxLength={64} autoComplete="off" spellcheck={false} />
          </Field>
          <Field label="Action" hint="e.g. tenant.create, tenant.suspend">
            <input value={form.action} onInput={set("action")} maxLength={64} autoComplete="off" spellcheck={false} />
          </Field>
          <Field label="Actor">
            <select value={form.actorKind} onChange={set("actorKind")}>
              <option value="">any</option>
              <option value="admin">admin</option>
              <option value="tenant">tenant</option>
              <option value="operator">operator (CLI)</option>
              <option value="system">system</option>
            </select>
          </Field>
          <Field label="Outcome">
            <select value={form.outcome} onChange={set("outcome")}>
              <option value="">any</option>
              <option value="ok">ok</option>
              <option value="denied">denied</option>
              <option value="error">error</option>
            </select>
          </Field>
          <Field label="From">
            <input type="datetime-local" value={form.since} onInput={set("since")} />
          </Field>
          <Field label="Until">
            <input type="datetime-local" value={form.until} onInput={set("until")} />
          </Field>
        </div>
        <div class="actions">
          <button type="submit" class="primary">
            Apply filters
          </button>
          <button
            type="button"
            onClick={() => {
              setForm(EMPTY);
              setFilters(EMPTY);
              setPages([null]);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {list.loading && <Loading label="Loading audit records…" />}
      {list.error !== null && <ErrorBox error={list.error} retry={list.reload} />}
      {list.data && (
        <>
          <DataTable<AuditRecord>
            caption={`Audit records${tenant ? ` of tenant ${tenant}` : ""}${before !== null ? ` before seq ${before}` : ""} (newest first)`}
            rows={list.data.records}
            empty="No audit records match these filters."
            columns={[
              { key: "seq", label: "Seq", num: true },
              { key: "ts", label: "Time", render: (r) => when(r.ts) },
              { key: "actor", label: "Actor", render: (r) => `${r.actor.kind}${r.actor.id ? ` ${r.actor.id}` : ""}` },
              { key: "tenant", label: "Tenant", render: (r) => r.tenant ?? "" },
              { key: "action", label: "Action", render: (r) => <code>{r.action}</code> },
              { key: "outcome", label: "Outcome", render: (r) => <Badge tone={r.outcome === "ok" ? "ok" : r.outcome === "denied" ? "warn" : "bad"}>{r.outcome}</Badge> },
              { key: "target", label: "Target", render: (r) => (r.target ? `${r.target.type} ${r.target.id}` : "") },
              { key: "details", label: "Details", render: (r) => (r.details ? <pre class="details-json">{JSON.stringify(r.details)}</pre> : "") },
            ]}
          />
          <nav class="pager" aria-label="Audit pages">
            <button type="button" disabled={pages.length <= 1 || list.loading} onClick={() => setPages(pages.slice(0, -1))}>
              Newer
            </button>
            <span>Page {pages.length}</span>
            <button type="button" disabled={list.data.nextBeforeSeq === null || list.loading} onClick={() => setPages([...pages, list.data!.nextBeforeSeq])}>
              Older
            </button>
          </nav>
        </>
      )}
    </section>
  );
}

export default definePage({ id: "audit", component: AuditLog });
