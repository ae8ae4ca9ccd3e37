// The tenant's workspace (the sandbox's /work) through files.*: browse directories, view a file,
// upload, download and delete. Transfers go in chunks of 512 KiB (base64 over the WebSocket, whose
// frames are capped at 1 MiB by default): uploads as an overwrite then appends, downloads by offset.
import { useRef, useState } from "preact/hooks";
import type { Api } from "../lib/api.ts";
import { definePage } from "../lib/page.ts";
import { bytes, ConfirmButton, DataTable, Empty, ErrorBox, Field, Loading, PageHeader, useAsync, when } from "../lib/ui.tsx";

const CHUNK = 512 * 1024;
const VIEW_MAX = 256 * 1024;

interface Entry {
  path: string;
  kind: "file" | "directory" | "symlink" | "other";
  size: number;
  mtime: string;
  target?: string;
}

const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);
const baseName = (p: string) => p.split("/").filter(Boolean).at(-1) ?? p;

function toBase64(buf: Uint8Array): string {
  let s = "";
  for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

async function download(api: Api, path: string): Promise<void> {
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (;;) {
    const r = await api.rpc<{ content: string; size: number; truncated: boolean }>("files.read", { path, offset, length: CHUNK, encoding: "base64" });
    const chunk = fromBase64(r.content);
    parts.push(chunk);
    offset += chunk.length;
    if (chunk.length === 0 || offset >= r.size) break;
  }
  const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type: "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = baseName(path);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function upload(api: Api, path: string, file: File, progress: (done: number) => void): Promise<void> {
  const data = new Uint8Array(await file.arrayBuffer());
  let offset = 0;
  do {
    const chunk = data.subarray(offset, offset + CHUNK);
    await api.rpc("files.write", { path, content: toBase64(chunk), encoding: "base64", mode: offset === 0 ? "overwrite" : "append" });
    offset += chunk.length;
    progress(offset);
  } while (offset < data.length);
}

function Viewer({ api, path, onClose }: { api: Api; path: string; onClose: () => void }) {
  const r = useAsync(() => api.rpc<{ content: string; size: number; truncated: boolean }>("files.read", { path, length: VIEW_MAX }), [path]);
  const binary = r.data ? /[\u0000-\u0008\u000e-\u001f]/.test(r.data.content.slice(0, 4096)) : false;
  return (
    <section class="card" aria-label={`Contents of ${path}`}>
      <div class="page-header">
        <h2>{path}</h2>
        <div class="actions">
          <button type="button" onClick={() => download(api, path)}>
            Download
          </button>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
      {r.loading && <Loading label="Reading the file…" />}
      {r.error !== null && <ErrorBox error={r.error} retry={r.reload} />}
      {r.data && (binary ? <Empty>This looks like a binary file ({bytes(r.data.size)}): download it instead.</Empty> : <pre tabIndex={0}>{r.data.content}</pre>)}
      {r.data?.truncated && <p class="muted">Showing the first {bytes(VIEW_MAX)} of {bytes(r.data.size)}.</p>}
    </section>
  );
}

function Files({ api }: { api: Api }) {
  const [dir, setDir] = useState("");
  const [viewing, setViewing] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");
  const fileInput = useRef<HTMLInputElement>(null);
  const list = useAsync(() => api.rpc<{ entries: Entry[]; truncated: boolean; total: number }>("files.list", dir ? { path: dir } : {}), [dir]);

  const act = async (label: string, fn: () => Promise<unknown>, done?: string) => {
    setBusy(label);
    setError(null);
    setNotice("");
    try {
      await fn();
      if (done) setNotice(done);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const onUpload = (e: Event) => {
    e.preventDefault();
    const files = [...(fileInput.current?.files ?? [])];
    if (files.length === 0) return setError(new Error("Choose a file to upload first."));
    void act(
      "Uploading…",
      async () => {
        for (const f of files) await upload(api, join(dir, f.name), f, (n) => setBusy(`Uploading ${f.name}: ${bytes(n)} of ${bytes(f.size)}`));
        if (fileInput.current) fileInput.current.value = "";
        list.reload();
      },
      `Uploaded ${files.map((f) => f.name).join(", ")}.`,
    );
  };

  const crumbs = dir ? dir.split("/") : [];
  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Files"
        actions={
          <button type="button" onClick={list.reload} disabled={list.loading}>
            Refresh
          </button>
        }
      />
      <nav class="breadcrumbs" aria-label="Folder">
        <button type="button" class="link" onClick={() => setDir("")} aria-current={dir === "" ? "location" : undefined}>
          workspace
        </button>
        {crumbs.map((c, i) => (
          <span key={i}>
            {" / "}
            <button type="button" class="link" onClick={() => setDir(crumbs.slice(0, i + 1).join("/"))} aria-current={i === crumbs.length - 1 ? "location" : undefined}>
              {c}
            </button>
          </span>
        ))}
      </nav>
      <form class="row card" onSubmit={onUpload}>
        <Field label={`Upload to ${dir ? `/${dir}` : "the workspace"}`}>
          <input type="file" ref={fileInput} multiple />
        </Field>
        <button type="submit" class="primary" disabled={busy !== null}>
          Upload
        </button>
      </form>
      {busy && <Loading label={busy} />}
      {notice && (
        <p class="ok" role="status">
          {notice}
        </p>
      )}
      {error !== null && <ErrorBox error={error} />}
      {list.loading && <Loading label="Listing…" />}
      {list.error !== null && <ErrorBox error={list.error} retry={list.reload} />}
      {list.data && (
        <DataTable<Entry>
          caption={`Contents of ${dir ? `/${dir}` : "the workspace"}`}
          rows={list.data.entries}
          empty="This folder is empty."
          columns={[
            {
              key: "name",
              label: "Name",
              render: (e) => {
                const name = baseName(e.path);
                if (e.kind === "directory")
                  return (
                    <button type="button" class="link" onClick={() => setDir(e.path.replace(/^\/+/, ""))}>
                      {name}/
                    </button>
                  );
                if (e.kind === "file")
                  return (
                    <button type="button" class="link" onClick={() => setViewing(e.path)}>
                      {name}
                    </button>
                  );
                return (
                  <span>
                    {name}
                    {e.target ? ` → ${e.target}` : ""}
                  </span>
                );
              },
            },
            { key: "kind", label: "Kind" },
            { key: "size", label: "Size", num: true, render: (e) => (e.kind === "file" ? bytes(e.size) : "") },
            { key: "mtime", label: "Modified", render: (e) => when(e.mtime) },
            {
              key: "actions",
              label: "Actions",
              render: (e) => (
                <span class="file-actions">
                  {e.kind === "file" && (
                    <button type="button" onClick={() => act("Downloading…", () => download(api, e.path))}>
                      Download<span class="sr-only"> {baseName(e.path)}</span>
                    </button>
                  )}
                  <ConfirmButton
                    confirmLabel={`Delete ${baseName(e.path)}`}
                    onConfirm={() =>
                      act("Deleting…", async () => {
                        await api.rpc("files.delete", { path: e.path, recursive: e.kind === "directory" });
                        if (viewing === e.path) setViewing(null);
                        list.reload();
                      })
                    }
                  >
                    Delete<span class="sr-only"> {baseName(e.path)}</span>
                  </ConfirmButton>
                </span>
              ),
            },
          ]}
        />
      )}
      {list.data?.truncated && <p class="muted">Showing {list.data.entries.length} of {list.data.total} entries.</p>}
      {viewing && <Viewer api={api} path={viewing} onClose={() => setViewing(null)} />}
    </section>
  );
}

export default definePage({ id: "files", component: Files });
