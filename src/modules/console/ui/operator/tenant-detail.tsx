// One tenant, as the operator manages it: suspend or resume, rotate its token (the new one is handed
// to the page to show once), edit its quotas, and delete it — only once its id has been typed again.
import { useState } from "preact/hooks";
import type { Api } from "../lib/api.ts";
import { ErrorBox, Field, Loading, when } from "../lib/ui.tsx";
import { Badge, useAction, val } from "./kit.tsx";

export interface Tenant {
  tenantId: string;
  displayName: string | null;
  status: "active" | "suspended";
  createdAt: string;
  suspendedAt: string | null;
  token: { prefix: string | null; createdAt: string | null; inGrace: { prefix: string; expiresAt: string }[] };
  quota: { limits: Record<string, number | null>; source: Record<string, "tenant" | "default"> };
}

const QUOTAS: { key: string; label: string; step: string }[] = [
  { key: "tokensPerDay", label: "Tokens per day", step: "1" },
  { key: "costPerDayUsd", label: "Cost per day (USD)", step: "0.01" },
  { key: "requestsPerMinute", label: "Requests per minute", step: "1" },
  { key: "maxConcurrent", label: "Concurrent requests", step: "1" },
];

type QuotaChoice = { mode: "default" | "unlimited" | "value"; value: string };

function Quotas({ api, tenant, onSaved }: { api: Api; tenant: Tenant; onSaved: () => void }) {
  const id = encodeURIComponent(tenant.tenantId);
  const initial = (): Record<string, QuotaChoice> =>
    Object.fromEntries(
      QUOTAS.map(({ key }) => {
        const limit = tenant.quota.limits[key];
        if (tenant.quota.source[key] !== "tenant") return [key, { mode: "default", value: limit === null || limit === undefined ? "" : String(limit) }];
        return [key, limit === null || limit === undefined ? { mode: "unlimited", value: "" } : { mode: "value", value: String(limit) }];
      }),
    );
  const [form, setForm] = useState(initial);
  const [saved, setSaved] = useState(false);
  const act = useAction();
  const set = (key: string, c: Partial<QuotaChoice>) => setForm({ ...form, [key]: { ...form[key]!, ...c } });
  const save = async (e: Event) => {
    e.preventDefault();
    setSaved(false);
    const patch: Record<string, number | null | "default"> = {};
    for (const { key } of QUOTAS) {
      const c = form[key]!;
      patch[key] = c.mode === "default" ? "default" : c.mode === "unlimited" ? null : Number(c.value);
    }
    if (await act.run("save", () => api.admin("PATCH", `/tenants/${id}/quota`, patch))) {
      setSaved(true);
      onSaved();
    }
  };
  return (
    <form class="card" onSubmit={save} aria-labelledby="quota-title">
      <h3 id="quota-title">Quotas</h3>
      {QUOTAS.map(({ key, label, step }) => {
        const c = form[key]!;
        return (
          <fieldset key={key}>
            <legend>{label}</legend>
            <div class="row">
              <Field label={`${label}: applies`}>
                <select value={c.mode} onChange={(e) => set(key, { mode: val(e) as QuotaChoice["mode"] })}>
                  <option value="default">the gateway default</option>
                  <option value="unlimited">unlimited</option>
                  <option value="value">this limit</option>
                </select>
              </Field>
              {c.mode === "value" && (
                <Field label={`${label}: limit`}>
                  <input type="number" min="0" step={step} required value={c.value} onInput={(e) => set(key, { value: val(e) })} />
                </Field>
              )}
            </div>
          </fieldset>
        );
      })}
      <div class="actions">
        <button type="submit" class="primary" disabled={act.busy !== ""}>
          {act.busy ? "Saving…" : "Save quotas"}
        </button>
        <span role="status">{saved ? "Quotas saved." : ""}</span>
      </div>
      {act.busy && <Loading label="Saving quotas…" />}
      {act.error !== null && <ErrorBox error={act.error} />}
    </form>
  );
}

function DeleteTenant({ api, tenant, onDeleted }: { api: Api; tenant: Tenant; onDeleted: () => void }) {
  const [typed, setTyped] = useState("");
  const act = useAction();
  const matches = typed === tenant.tenantId;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!matches) return;
    if (await act.run("delete", () => api.admin("DELETE", `/tenants/${encodeURIComponent(tenant.tenantId)}`))) onDeleted();
  };
  return (
    <form class="card danger-zone" onSubmit={submit} aria-labelledby="delete-title">
      <h3 id="delete-title">Delete tenant</h3>
      <p>
        This deletes the tenant's record, tokens, sessions, files and everything else it owns. Its audit records are kept. It cannot be undone (except from a
        backup).
      </p>
      <Field label={`Type ${tenant.tenantId} to confirm`}>
        <input value={typed} onInput={(e) => setTyped(val(e))} autoComplete="off" spellcheck={false} />
      </Field>
      <button type="submit" class="danger" disabled={!matches || act.busy !== ""}>
        {act.busy ? "Deleting…" : `Delete ${tenant.tenantId}`}
      </button>
      {act.busy && <Loading label="Deleting the tenant…" />}
      {act.error !== null && <ErrorBox error={act.error} />}
    </form>
  );
}

export function TenantDetail({ api, tenant, onChanged, onToken, onDeleted }: { api: Api; tenant: Tenant; onChanged: () => void; onToken: (token: string) => void; onDeleted: () => void }) {
  const id = encodeURIComponent(tenant.tenantId);
  const [grace, setGrace] = useState("0");
  const act = useAction();
  const suspended = tenant.status === "suspended";
  const toggle = () => act.run("status", () => api.admin("POST", `/tenants/${id}/${suspended ? "resume" : "suspend"}`)).then((ok) => ok && onChanged());
  const rotate = async () => {
    let token = "";
    const ok = await act.run("rotate", async () => {
      token = (await api.admin<{ token: string }>("POST", `/tenants/${id}/token/rotate`, { grace })).token;
    });
    if (ok) {
      onToken(token);
      onChanged();
    }
  };
  return (
    <section class="detail" aria-labelledby="detail-title">
      <div class="card">
        <h2 id="detail-title">Tenant {tenant.tenantId}</h2>
        <p>
          Status <Badge tone={suspended ? "warn" : "ok"}>{tenant.status}</Badge>
          {suspended && tenant.suspendedAt && <> since {when(tenant.suspendedAt)}</>} · token {tenant.token.prefix ? <code>{tenant.token.prefix}</code> : "none"}
          {tenant.token.createdAt && <> issued {when(tenant.token.createdAt)}</>}
          {tenant.token.inGrace.length > 0 && <> · {tenant.token.inGrace.length} old token(s) in grace</>}
        </p>
        <div class="row">
          <button type="button" class={suspended ? "primary" : undefined} onClick={toggle} disabled={act.busy !== ""}>
            {act.busy === "status" ? "Working…" : suspended ? "Resume" : "Suspend"}
          </button>
          <Field label="Old token keeps working for">
            <select value={grace} onChange={(e) => setGrace(val(e))}>
              <option value="0">no time (stops now)</option>
              <option value="15m">15 minutes</option>
              <option value="1h">1 hour</option>
              <option value="1d">1 day</option>
            </select>
          </Field>
          <button type="button" onClick={rotate} disabled={act.busy !== ""}>
            {act.busy === "rotate" ? "Rotating…" : "Rotate token"}
          </button>
        </div>
        {act.busy && <Loading label={act.busy === "rotate" ? "Rotating the token…" : suspended ? "Resuming…" : "Suspending…"} />}
        {act.error !== null && <ErrorBox error={act.error} />}
      </div>
      <Quotas api={api} tenant={tenant} onSaved={onChanged} />
      <DeleteTenant api={api} tenant={tenant} onDeleted={onDeleted} />
    </section>
  );
}
