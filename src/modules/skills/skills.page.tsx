// The tenant's skills and plugins in the console: each with its status (and why it cannot be used),
// enable, disable, remove, and install from an uploaded archive (tar, tar.gz or zip, sent base64 in
// skills.install / plugins.install over the WebSocket) — over the tenant's own RPC methods.
import { useState } from "preact/hooks";
import type { Api } from "../console/ui/lib/api.ts";
import { definePage } from "../console/ui/lib/page.ts";
import { bytes, ConfirmButton, DataTable, ErrorBox, Field, Loading, PageHeader, useAsync, when } from "../console/ui/lib/ui.tsx";
import { Badge, useAction, val } from "../console/ui/operator/kit.tsx";

interface Pkg {
  kind: "skill" | "plugin";
  name: string;
  source: "tenant" | "operator";
  status: "ok" | "error";
  error: string | null;
  enabled: boolean;
  description: string;
  files: number;
  bytes: number;
  version: string | null;
  tools: string[];
  installedAt: string | null;
}

/**
 * One WebSocket frame holds the whole request; the gateway's default frame limit is 1 MiB
 * (gateway.websocket.maxMessageBytes), and a larger frame closes the connection. Refuse here, clearly.
 */
const MAX_FRAME = 1_048_576;

function base64(buf: ArrayBuffer): string {
  const b = new Uint8Array(buf);
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function Install({ api, onInstalled }: { api: Api; onInstalled: (p: Pkg) => void }) {
  const [kind, setKind] = useState<"skill" | "plugin">("skill");
  const [file, setFile] = useState<File | null>(null);
  const [replace, setReplace] = useState(false);
  const act = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    let got: Pkg | undefined;
    const ok = await act.run("install", async () => {
      const archive = base64(await file.arrayBuffer());
      if (archive.length + 512 > MAX_FRAME) throw new Error(`${file.name} is ${bytes(file.size)}: too large to send over the console's connection (about ${bytes(Math.floor(((MAX_FRAME - 512) * 3) / 4))} at most). Use the CLI (openclaw skills install) or POST /rpc.`);
      got = await api.rpc<Pkg>(`${kind}s.install`, { archive, ...(replace ? { replace: true } : {}) });
    });
    if (ok && got) {
      setFile(null);
      (e.target as HTMLFormElement).reset();
      onInstalled(got);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="install-title">
      <h2 id="install-title">Install</h2>
      <div class="row">
        <Field label="Kind">
          <select value={kind} onChange={(e) => setKind(val(e) as "skill" | "plugin")}>
            <option value="skill">skill</option>
            <option value="plugin">plugin</option>
          </select>
        </Field>
        <Field label="Archive (tar, tar.gz or zip)">
          <input type="file" accept=".tar,.tgz,.gz,.zip,application/zip,application/gzip,application/x-tar" required onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
        </Field>
        <label class="inline-check">
          <input type="checkbox" checked={replace} onChange={(e) => setReplace((e.target as HTMLInputElement).checked)} />
          Replace one of the same name
        </label>
        <button type="submit" class="primary" disabled={!file || act.busy !== ""}>
          {act.busy ? "Installing…" : "Install"}
        </button>
      </div>
      {act.busy && <Loading label="Uploading and checking the archive…" />}
      {act.error !== null && <ErrorBox error={act.error} />}
    </form>
  );
}

function Skills({ api }: { api: Api }) {
  const [tick, setTick] = useState(0);
  const skills = useAsync(() => api.rpc<{ items: Pkg[] }>("skills.list"), [tick]);
  const plugins = useAsync(() => api.rpc<{ items: Pkg[] }>("plugins.list"), [tick]);
  const [note, setNote] = useState("");
  const act = useAction();
  const refresh = () => setTick((t) => t + 1);
  const call = (p: Pkg, op: "enable" | "disable" | "remove") =>
    act.run(op, () => api.rpc(`${p.kind}s.${op}`, { name: p.name })).then((ok) => {
      if (ok) setNote(`${p.kind} ${p.name}: ${op === "remove" ? "removed" : `${op}d`}.`);
      refresh();
    });
  const table = (title: string, s: typeof skills) => (
    <section aria-label={title}>
      <h2>{title}</h2>
      {s.loading && <Loading label={`Loading ${title.toLowerCase()}…`} />}
      {s.error !== null && <ErrorBox error={s.error} retry={s.reload} />}
      {s.data && (
        <DataTable<Pkg>
          caption={`${s.data.items.length} ${title.toLowerCase()}`}
          rows={s.data.items}
          empty={`No ${title.toLowerCase()} installed.`}
          columns={[
            { key: "name", label: "Name", render: (p) => <>{p.name}{p.version ? ` ${p.version}` : ""} <small class="muted">{p.source === "operator" ? "(operator's)" : ""}</small></> },
            { key: "description", label: "Description", render: (p) => p.description + (p.tools.length ? ` — tools: ${p.tools.join(", ")}` : "") },
            { key: "status", label: "Status", render: (p) => (p.status === "ok" ? <Badge tone="ok">ok</Badge> : <><Badge tone="bad">error</Badge> {p.error}</>) },
            { key: "enabled", label: "Enabled", render: (p) => <Badge tone={p.enabled ? "ok" : "muted"}>{p.enabled ? "enabled" : "disabled"}</Badge> },
            { key: "size", label: "Size", num: true, render: (p) => `${p.files} files, ${bytes(p.bytes)}` },
            { key: "installedAt", label: "Installed", render: (p) => when(p.installedAt) },
            {
              key: "actions",
              label: "Actions",
              render: (p) =>
                p.source === "operator" ? (
                  <span class="muted">managed by the operator</span>
                ) : (
                  <div class="row-actions">
                    <button type="button" disabled={act.busy !== ""} onClick={() => call(p, p.enabled ? "disable" : "enable")} aria-label={`${p.enabled ? "Disable" : "Enable"} ${p.kind} ${p.name}`}>
                      {p.enabled ? "Disable" : "Enable"}
                    </button>
                    <ConfirmButton confirmLabel={`Remove ${p.name}`} onConfirm={() => call(p, "remove")}>
                      Remove
                    </ConfirmButton>
                  </div>
                ),
            },
          ]}
        />
      )}
    </section>
  );
  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Skills and plugins"
        actions={
          <button type="button" onClick={refresh}>
            Refresh
          </button>
        }
      />
      <Install
        api={api}
        onInstalled={(p) => {
          setNote(`${p.kind} ${p.name} installed${p.status === "error" ? `, but it cannot be used: ${p.error}` : ""}.`);
          refresh();
        }}
      />
      <p role="status" aria-live="polite">
        {note}
      </p>
      {act.busy && <Loading label="Working…" />}
      {act.error !== null && <ErrorBox error={act.error} />}
      {table("Skills", skills)}
      {table("Plugins", plugins)}
    </section>
  );
}

export default definePage({ id: "skills", component: Skills });
