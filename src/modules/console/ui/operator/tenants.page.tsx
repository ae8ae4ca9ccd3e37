// The operator's tenants: the list, a new tenant (its token shown once), and for the selected tenant
// suspend, resume, token rotation (the new token shown once), quotas and delete (confirmed by typing
// its id). Only the admin API (/admin/v1) is used; the page keeps no token beyond the one on screen.
import { useState } from "preact/hooks";
import type { Api } from "../lib/api.ts";
import { definePage } from "../lib/page.ts";
import { DataTable, ErrorBox, Field, Loading, PageHeader, useAsync, when } from "../lib/ui.tsx";
import { Badge, SecretOnce, useAction, val } from "./kit.tsx";
import { TenantDetail, type Tenant } from "./tenant-detail.tsx";

function CreateTenant({ api, onCreated }: { api: Api; onCreated: (id: string, token: string) => void }) {
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const act = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    let made: { tenantId: string; token: string } | undefined;
    const ok = await act.run("create", async () => {
      made = await api.admin<{ tenantId: string; token: string }>("POST", "/tenants", { id: id.trim(), ...(name.trim() ? { displayName: name.trim() } : {}) });
    });
    if (ok && made) {
      setId("");
      setName("");
      onCreated(made.tenantId, made.token);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="create-title">
      <h2 id="create-title">New tenant</h2>
      <div class="row">
        <Field label="Tenant id" hint="1–32 lowercase letters, digits and inner hyphens">
          <input value={id} onInput={(e) => setId(val(e))} required maxLength={32} pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?" autoComplete="off" spellcheck={false} />
        </Field>
        <Field label="Display name (optional)">
          <input value={name} onInput={(e) => setName(val(e))} maxLength={200} autoComplete="off" />
        </Field>
        <button type="submit" class="primary" disabled={act.busy !== ""}>
          {act.busy ? "Creating…" : "Create tenant"}
        </button>
      </div>
      {act.busy && <Loading label="Creating the tenant…" />}
      {act.error !== null && <ErrorBox error={act.error} />}
    </form>
  );
}

function Tenants({ api }: { api: Api }) {
  const list = useAsync(() => api.admin<{ tenants: Tenant[] }>("GET", "/tenants"), []);
  const [selected, setSelected] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const tenants = list.data?.tenants ?? [];
  const current = tenants.find((t) => t.tenantId === selected) ?? null;
  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Tenants"
        actions={
          <button type="button" onClick={list.reload} disabled={list.loading}>
            Refresh
          </button>
        }
      />
      {secret && <SecretOnce label={secret.label} value={secret.value} onDismiss={() => setSecret(null)} />}
      <CreateTenant
        api={api}
        onCreated={(id, token) => {
          setSecret({ label: `Token of tenant ${id}`, value: token });
          setSelected(id);
          list.reload();
        }}
      />
      {list.loading && <Loading label="Loading tenants…" />}
      {list.error !== null && <ErrorBox error={list.error} retry={list.reload} />}
      {list.data && (
        <DataTable<Tenant>
          caption={`${tenants.length} tenant${tenants.length === 1 ? "" : "s"}`}
          rows={tenants}
          empty="No tenants yet: create the first one above."
          columns={[
            { key: "tenantId", label: "Tenant" },
            { key: "displayName", label: "Name", render: (t) => t.displayName ?? "" },
            { key: "status", label: "Status", render: (t) => <Badge tone={t.status === "active" ? "ok" : "warn"}>{t.status}</Badge> },
            { key: "token", label: "Token", render: (t) => (t.token.prefix ? <code>{t.token.prefix}</code> : "none") },
            { key: "createdAt", label: "Created", render: (t) => when(t.createdAt) },
            {
              key: "manage",
              label: "Manage",
              render: (t) => (
                <button type="button" onClick={() => setSelected(t.tenantId === selected ? null : t.tenantId)} aria-label={`${t.tenantId === selected ? "Close" : "Manage"} ${t.tenantId}`}>
                  {t.tenantId === selected ? "Close" : "Manage"}
                </button>
              ),
            },
          ]}
        />
      )}
      {current && (
        <TenantDetail
          key={current.tenantId}
          api={api}
          tenant={current}
          onChanged={list.reload}
          onToken={(token) => setSecret({ label: `New token of tenant ${current.tenantId}`, value: token })}
          onDeleted={() => {
            setSelected(null);
            setSecret(null);
            list.reload();
          }}
        />
      )}
    </section>
  );
}

export default definePage({ id: "tenants", component: Tenants });
