// The gateway itself: status (version, uptime, tenants, schema, audit head), the sandbox checks and the
// rest of `openclaw doctor`'s checks (GET /admin/v1/doctor), and the admin API's reference (/admin/docs).
import type { Api } from "../lib/api.ts";
import { definePage } from "../lib/page.ts";
import { ErrorBox, Loading, PageHeader, useAsync, when } from "../lib/ui.tsx";
import { Badge } from "./kit.tsx";

interface Status {
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  tenants: { total: number; active: number; suspended: number; overlaysRefused: { tenantId: string; reason: string }[] };
  database: { schemaVersion: number };
  audit: { file: string; seq: number; head: string };
}
interface Check {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
}

/** The checks of doctor that describe the sandboxes. */
const SANDBOX = /^(bwrap|seccomp|user namespaces|sandbox |docker|gVisor|file tools)/;

function uptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

function Checks({ title, checks }: { title: string; checks: Check[] }) {
  const id = title.toLowerCase().replace(/[^a-z]+/g, "-");
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <ul class="checks">
        {checks.map((c) => (
          <li key={c.name}>
            <Badge tone={c.status === "ok" ? "ok" : c.status === "warn" ? "warn" : "bad"}>{c.status}</Badge> <strong>{c.name}</strong>: {c.detail}
          </li>
        ))}
      </ul>
    </section>
  );
}

function System({ api }: { api: Api }) {
  const status = useAsync(() => api.admin<Status>("GET", "/status"), []);
  const doctor = useAsync(() => api.admin<{ ok: boolean; checkedAt: string; checks: Check[] }>("GET", "/doctor"), []);
  const s = status.data;
  const checks = doctor.data?.checks ?? [];
  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="System"
        actions={
          <>
            <a href="/admin/docs" target="_blank" rel="noopener">
              Admin API reference (/admin/docs)
            </a>
            <button
              type="button"
              onClick={() => {
                status.reload();
                doctor.reload();
              }}
            >
              Refresh
            </button>
          </>
        }
      />
      {status.loading && <Loading label="Loading status…" />}
      {status.error !== null && <ErrorBox error={status.error} retry={status.reload} />}
      {s && (
        <section class="card" aria-labelledby="status-title">
          <h2 id="status-title">Gateway</h2>
          <dl>
            <dt>Version</dt>
            <dd>{s.version}</dd>
            <dt>Up since</dt>
            <dd>
              {when(s.startedAt)} ({uptime(s.uptimeSeconds)})
            </dd>
            <dt>Tenants</dt>
            <dd>
              {s.tenants.total} ({s.tenants.active} active, {s.tenants.suspended} suspended)
            </dd>
            <dt>Database schema</dt>
            <dd>v{s.database.schemaVersion}</dd>
            <dt>Audit log</dt>
            <dd>
              <code>{s.audit.file}</code>, seq {s.audit.seq}, head <code>{s.audit.head}</code>
            </dd>
          </dl>
          {s.tenants.overlaysRefused.length > 0 && (
            <>
              <h3>Refused tenant overlays</h3>
              <ul>
                {s.tenants.overlaysRefused.map((o) => (
                  <li key={o.tenantId}>
                    <strong>{o.tenantId}</strong>: {o.reason}
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      )}
      {doctor.loading && <Loading label="Running doctor's checks (sandboxes, Docker, disk)…" />}
      {doctor.error !== null && <ErrorBox error={doctor.error} retry={doctor.reload} />}
      {doctor.data && (
        <>
          <p data-doctor={doctor.data.ok ? "ok" : "failed"}>
            <Badge tone={doctor.data.ok ? "ok" : "bad"}>{doctor.data.ok ? "doctor: no failures" : "doctor: some checks failed"}</Badge> checked {when(doctor.data.checkedAt)}
          </p>
          <Checks title="Sandbox status" checks={checks.filter((c) => SANDBOX.test(c.name))} />
          <Checks title="Installation checks" checks={checks.filter((c) => !SANDBOX.test(c.name))} />
        </>
      )}
    </section>
  );
}

export default definePage({ id: "system", component: System });
