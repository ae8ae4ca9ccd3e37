// The tenant's cron jobs in the console: the list (with disabled ones), a new job (an agent turn or a
// sandbox command, on a cron expression, an interval or once), enable/disable, run now, remove, and
// the run history — all over the tenant's own cron.* RPC methods.
import { useEffect, useState } from "preact/hooks";
import type { Api } from "../console/ui/lib/api.ts";
import { definePage } from "../console/ui/lib/page.ts";
import { ConfirmButton, DataTable, ErrorBox, Field, Loading, PageHeader, useAsync, when } from "../console/ui/lib/ui.tsx";
import { Badge, SecretOnce, useAction, val } from "../console/ui/operator/kit.tsx";

interface Job {
  id: string;
  name: string;
  description?: string;
  enabled: boolean;
  schedule: { kind: string; expr?: string; tz?: string; everyMs?: number; at?: string };
  payload: { kind: string; message?: string; command?: string; args?: string[] };
  delivery: { mode: string };
  state: { nextRunAtMs: number | null; runningAtMs: number | null; lastRunAtMs: number | null; lastRunStatus: string | null; lastError: string | null; disabledReason?: string | null };
}
interface Run {
  id: string;
  jobId: string;
  trigger: string;
  status: "running" | "ok" | "error" | "skipped";
  startedAtMs: number;
  durationMs: number | null;
  error: string | null;
  output: string | null;
  usage: { inputTokens: number; outputTokens: number; costMicroUsd: number };
}

function scheduleText(s: Job["schedule"]): string {
  if (s.kind === "cron") return `cron ${s.expr}${s.tz && s.tz !== "UTC" ? ` (${s.tz})` : ""}`;
  if (s.kind === "every") return `every ${Math.round((s.everyMs ?? 0) / 60_000)} min`;
  return `once at ${when(s.at)}`;
}

function AddJob({ api, onAdded }: { api: Api; onAdded: (signingKey?: string) => void }) {
  const [f, setF] = useState({ name: "", kind: "cron", expr: "0 9 * * *", tz: "UTC", everyMin: "60", at: "", payload: "agentTurn", message: "", command: "", args: "" });
  const act = useAction();
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: val(e) });
  const submit = async (e: Event) => {
    e.preventDefault();
    const schedule = f.kind === "cron" ? { kind: "cron", expr: f.expr.trim(), tz: f.tz.trim() || "UTC" } : f.kind === "every" ? { kind: "every", everyMs: Math.round(Number(f.everyMin) * 60_000) } : { kind: "at", at: f.at ? new Date(f.at).toISOString() : "" };
    const args = f.args.trim() ? f.args.trim().split(/\s+/) : undefined;
    const payload = f.payload === "agentTurn" ? { kind: "agentTurn", message: f.message } : { kind: "exec", command: f.command.trim(), ...(args ? { args } : {}) };
    let key: string | undefined;
    const ok = await act.run("add", async () => {
      key = (await api.rpc<{ signingKey?: string }>("cron.add", { name: f.name.trim(), schedule, payload })).signingKey;
    });
    if (ok) {
      setF({ ...f, name: "", message: "", command: "", args: "" });
      onAdded(key);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="add-job-title">
      <h2 id="add-job-title">New job</h2>
      <div class="row">
        <Field label="Name">
          <input value={f.name} onInput={set("name")} required maxLength={200} />
        </Field>
        <Field label="Schedule">
          <select value={f.kind} onChange={set("kind")}>
            <option value="cron">cron expression</option>
            <option value="every">every N minutes</option>
            <option value="at">once, at a time</option>
          </select>
        </Field>
        {f.kind === "cron" && (
          <>
            <Field label="Cron expression" hint="minute hour day month weekday">
              <input value={f.expr} onInput={set("expr")} required maxLength={200} spellcheck={false} />
            </Field>
            <Field label="Time zone">
              <input value={f.tz} onInput={set("tz")} maxLength={64} spellcheck={false} />
            </Field>
          </>
        )}
        {f.kind === "every" && (
          <Field label="Interval (minutes)">
            <input type="number" min="1" step="1" value={f.everyMin} onInput={set("everyMin")} required />
          </Field>
        )}
        {f.kind === "at" && (
          <Field label="At">
            <input type="datetime-local" value={f.at} onInput={set("at")} required />
          </Field>
        )}
      </div>
      <div class="row">
        <Field label="Does">
          <select value={f.payload} onChange={set("payload")}>
            <option value="agentTurn">a turn of the main agent</option>
            <option value="exec">a command in the sandbox</option>
          </select>
        </Field>
        {f.payload === "agentTurn" ? (
          <Field label="Message to the agent">
            <textarea value={f.message} onInput={set("message")} required maxLength={32768} />
          </Field>
        ) : (
          <>
            <Field label="Command">
              <input value={f.command} onInput={set("command")} required maxLength={4096} spellcheck={false} />
            </Field>
            <Field label="Arguments (separated by spaces)">
              <input value={f.args} onInput={set("args")} spellcheck={false} />
            </Field>
          </>
        )}
      </div>
      <button type="submit" class="primary" disabled={act.busy !== ""}>
        {act.busy ? "Adding…" : "Add job"}
      </button>
      {act.busy && <Loading label="Adding the job…" />}
      {act.error !== null && <ErrorBox error={act.error} />}
    </form>
  );
}

function Runs({ api, jobId, tick }: { api: Api; jobId: string | null; tick: number }) {
  const runs = useAsync(() => api.rpc<{ items: Run[]; total: number }>("cron.runs", { ...(jobId ? { id: jobId } : {}), limit: 50 }), [jobId, tick]);
  // A run in progress: look again shortly, so its outcome shows without a manual refresh.
  const running = runs.data?.items.some((r) => r.status === "running") ?? false;
  useEffect(() => {
    if (!running || runs.loading) return;
    const t = setTimeout(runs.reload, 1500);
    return () => clearTimeout(t);
  }, [running, runs.loading, runs.data]);
  return (
    <section aria-labelledby="runs-title">
      <h2 id="runs-title">Run history{jobId ? ` of ${jobId}` : ""}</h2>
      {runs.loading && <Loading label="Loading runs…" />}
      {runs.error !== null && <ErrorBox error={runs.error} retry={runs.reload} />}
      {runs.data && (
        <DataTable<Run>
          caption={`${runs.data.total} run(s), newest first`}
          rows={runs.data.items}
          empty="No runs yet."
          columns={[
            { key: "startedAtMs", label: "Started", render: (r) => when(r.startedAtMs) },
            { key: "jobId", label: "Job" },
            { key: "trigger", label: "Trigger" },
            { key: "status", label: "Outcome", render: (r) => <Badge tone={r.status === "ok" ? "ok" : r.status === "error" ? "bad" : "muted"}>{r.status}</Badge> },
            { key: "durationMs", label: "Duration", num: true, render: (r) => (r.durationMs === null ? "" : `${(r.durationMs / 1000).toFixed(1)} s`) },
            { key: "output", label: "Output or error", render: (r) => r.error ?? (r.output ? r.output.slice(0, 200) : "") },
          ]}
        />
      )}
    </section>
  );
}

function Cron({ api }: { api: Api }) {
  const [tick, setTick] = useState(0);
  const jobs = useAsync(() => api.rpc<{ items: Job[]; total: number }>("cron.list", { includeDisabled: true, limit: 200 }), [tick]);
  const [shown, setShown] = useState<string | null>(null);
  const [key, setKey] = useState<string | null>(null);
  const act = useAction();
  const refresh = () => setTick((t) => t + 1);
  const call = (what: string, method: string, params: object) => act.run(what, () => api.rpc(method, params)).then(refresh);
  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Cron jobs"
        actions={
          <button type="button" onClick={refresh}>
            Refresh
          </button>
        }
      />
      {key && <SecretOnce label="Webhook signing key" value={key} onDismiss={() => setKey(null)} />}
      <AddJob
        api={api}
        onAdded={(k) => {
          if (k) setKey(k);
          refresh();
        }}
      />
      {jobs.loading && <Loading label="Loading jobs…" />}
      {jobs.error !== null && <ErrorBox error={jobs.error} retry={jobs.reload} />}
      {act.busy && <Loading label="Working…" />}
      {act.error !== null && <ErrorBox error={act.error} />}
      {jobs.data && (
        <DataTable<Job>
          caption={`${jobs.data.total} job(s)`}
          rows={jobs.data.items}
          empty="No jobs yet: add one above."
          columns={[
            { key: "name", label: "Job", render: (j) => <>{j.name} <small class="muted">{j.id}</small></> },
            { key: "schedule", label: "Schedule", render: (j) => scheduleText(j.schedule) },
            { key: "payload", label: "Does", render: (j) => (j.payload.kind === "exec" ? <code>{[j.payload.command, ...(j.payload.args ?? [])].join(" ")}</code> : `agent: ${j.payload.message?.slice(0, 60) ?? ""}`) },
            { key: "enabled", label: "State", render: (j) => <Badge tone={j.enabled ? "ok" : "muted"}>{j.enabled ? "enabled" : (j.state.disabledReason ?? "disabled")}</Badge> },
            { key: "next", label: "Next run", render: (j) => when(j.state.nextRunAtMs) },
            { key: "last", label: "Last run", render: (j) => (j.state.lastRunAtMs ? `${when(j.state.lastRunAtMs)} ${j.state.lastRunStatus ?? ""}` : "never") },
            {
              key: "actions",
              label: "Actions",
              render: (j) => (
                <div class="row-actions">
                  <button type="button" disabled={act.busy !== ""} onClick={() => call("toggle", "cron.update", { id: j.id, patch: { enabled: !j.enabled } })} aria-label={`${j.enabled ? "Disable" : "Enable"} ${j.name}`}>
                    {j.enabled ? "Disable" : "Enable"}
                  </button>
                  <button type="button" disabled={act.busy !== ""} onClick={() => call("run", "cron.run", { id: j.id })} aria-label={`Run now: ${j.name}`}>
                    Run now
                  </button>
                  <button type="button" onClick={() => setShown(shown === j.id ? null : j.id)} aria-pressed={shown === j.id} aria-label={`History: ${j.name}`}>
                    History
                  </button>
                  <ConfirmButton onConfirm={() => call("remove", "cron.remove", { id: j.id })} confirmLabel={`Remove ${j.name}`}>
                    Remove
                  </ConfirmButton>
                </div>
              ),
            },
          ]}
        />
      )}
      <Runs api={api} jobId={shown} tick={tick} />
    </section>
  );
}

export default definePage({ id: "cron", component: Cron });
