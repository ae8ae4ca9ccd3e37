// The tenant's channels in the console: the list with each one's status and counters, pairing a new
// one (kind, name, the kind's credentials, sender policy), approving a sender's pairing code, and
// unpairing — over the tenant's own channels.* RPC methods. Credentials go to the gateway once and are
// never shown again (only their last characters).
import { useState } from "preact/hooks";
import type { Api } from "../console/ui/lib/api.ts";
import { definePage } from "../console/ui/lib/page.ts";
import { ConfirmButton, DataTable, ErrorBox, Field, Loading, PageHeader, useAsync, when } from "../console/ui/lib/ui.tsx";
import { Badge, SecretOnce, useAction, val } from "../console/ui/operator/kit.tsx";

type Kind = "telegram" | "slack" | "whatsapp" | "discord" | "webhook";
interface Channel {
  id: string;
  kind: Kind;
  name: string;
  status: "active" | "error";
  lastError: string | null;
  options: { dmPolicy?: string; mode?: string };
  masked: Record<string, string>;
  webhookPath: string;
  webhookUrl: string | null;
  createdAtMs: number;
}
interface ChannelStatus {
  id: string;
  counters: { received: number; replied: number; failed: number; dropped: number; replays: number };
  queued: number;
  pendingPeers: { peerId: string; peerName: string | null; expiresAtMs: number }[];
}

/** The credentials each kind takes (README, "Channels"). */
const CREDENTIALS: Record<Kind, { key: string; label: string; secret: boolean; optional?: boolean }[]> = {
  telegram: [{ key: "botToken", label: "Bot token (from @BotFather)", secret: true }],
  slack: [
    { key: "botToken", label: "Bot token (xoxb-…)", secret: true },
    { key: "signingSecret", label: "Signing secret", secret: true },
  ],
  whatsapp: [
    { key: "accessToken", label: "Access token", secret: true },
    { key: "appSecret", label: "App secret", secret: true },
    { key: "phoneNumberId", label: "Phone number id", secret: false },
    { key: "verifyToken", label: "Verify token (16+ characters of your choosing)", secret: true },
  ],
  discord: [
    { key: "publicKey", label: "Public key (64 hex)", secret: false },
    { key: "applicationId", label: "Application id", secret: false },
    { key: "botToken", label: "Bot token", secret: true },
  ],
  webhook: [{ key: "secret", label: "Signing secret (32+ characters; empty: one is made for you)", secret: true, optional: true }],
};

function Pair({ api, onPaired }: { api: Api; onPaired: (info: { webhookUrl: string | null; webhookPath: string; signingKey?: string }) => void }) {
  const [kind, setKind] = useState<Kind>("telegram");
  const [name, setName] = useState("");
  const [creds, setCreds] = useState<Record<string, string>>({});
  const [dmPolicy, setDmPolicy] = useState("pairing");
  const [mode, setMode] = useState("webhook");
  const [callbackUrl, setCallbackUrl] = useState("");
  const act = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const credentials = Object.fromEntries(CREDENTIALS[kind].map((c) => [c.key, creds[c.key] ?? ""]).filter(([, v]) => v !== ""));
    const options: Record<string, string> = { dmPolicy };
    if (kind === "telegram") options.mode = mode;
    if (kind === "webhook" && callbackUrl.trim()) options.callbackUrl = callbackUrl.trim();
    let got: { webhookUrl: string | null; webhookPath: string; signingKey?: string } | undefined;
    const ok = await act.run("pair", async () => {
      got = await api.rpc("channels.pair", { kind, ...(name.trim() ? { name: name.trim() } : {}), credentials, options });
    });
    if (ok && got) {
      setCreds({}); // the credentials leave the page with the request
      setName("");
      onPaired(got);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="pair-title" autoComplete="off">
      <h2 id="pair-title">Pair a channel</h2>
      <div class="row">
        <Field label="Kind">
          <select
            value={kind}
            onChange={(e) => {
              setKind(val(e) as Kind);
              setCreds({});
            }}
          >
            <option value="telegram">Telegram</option>
            <option value="slack">Slack</option>
            <option value="whatsapp">WhatsApp</option>
            <option value="discord">Discord</option>
            <option value="webhook">Signed webhook</option>
          </select>
        </Field>
        <Field label="Name (optional)">
          <input value={name} onInput={(e) => setName(val(e))} maxLength={100} />
        </Field>
        <Field label="Who may talk">
          <select value={dmPolicy} onChange={(e) => setDmPolicy(val(e))}>
            <option value="pairing">senders I approve by code</option>
            <option value="allowlist">an allow-list only</option>
            <option value="open">anyone</option>
          </select>
        </Field>
        {kind === "telegram" && (
          <Field label="Delivery">
            <select value={mode} onChange={(e) => setMode(val(e))}>
              <option value="webhook">webhook (needs the gateway's public URL)</option>
              <option value="polling">polling</option>
            </select>
          </Field>
        )}
      </div>
      <fieldset>
        <legend>Credentials ({kind})</legend>
        <div class="row">
          {CREDENTIALS[kind].map((c) => (
            <Field key={`${kind}-${c.key}`} label={c.label}>
              <input type={c.secret ? "password" : "text"} required={!c.optional} maxLength={4096} spellcheck={false} value={creds[c.key] ?? ""} onInput={(e) => setCreds({ ...creds, [c.key]: val(e) })} />
            </Field>
          ))}
          {kind === "webhook" && (
            <Field label="Callback URL for replies (optional)">
              <input type="url" value={callbackUrl} onInput={(e) => setCallbackUrl(val(e))} maxLength={2000} />
            </Field>
          )}
        </div>
      </fieldset>
      <button type="submit" class="primary" disabled={act.busy !== ""}>
        {act.busy ? "Pairing…" : "Pair"}
      </button>
      {act.busy && <Loading label="Pairing (the gateway checks the credentials with the platform)…" />}
      {act.error !== null && <ErrorBox error={act.error} />}
    </form>
  );
}

function Approve({ api, channel, onDone }: { api: Api; channel: Channel; onDone: () => void }) {
  const [code, setCode] = useState("");
  const [done, setDone] = useState("");
  const act = useAction();
  return (
    <form
      class="row"
      onSubmit={async (e) => {
        e.preventDefault();
        let peer = "";
        if (await act.run("approve", async () => void (peer = (await api.rpc<{ peerId: string }>("channels.approve", { channelId: channel.id, code: code.trim() })).peerId))) {
          setCode("");
          setDone(`Approved sender ${peer}.`);
          onDone();
        }
      }}
    >
      <Field label={`Pairing code for ${channel.name}`}>
        <input value={code} onInput={(e) => setCode(val(e))} required minLength={4} maxLength={32} autoComplete="off" spellcheck={false} />
      </Field>
      <button type="submit" disabled={act.busy !== ""}>
        {act.busy ? "Approving…" : "Approve"}
      </button>
      <span role="status">{done}</span>
      {act.error !== null && <ErrorBox error={act.error} />}
    </form>
  );
}

function Channels({ api }: { api: Api }) {
  const [tick, setTick] = useState(0);
  const list = useAsync(() => api.rpc<{ channels: Channel[] }>("channels.list"), [tick]);
  const status = useAsync(() => api.rpc<{ channels: ChannelStatus[] }>("channels.status"), [tick]);
  const [paired, setPaired] = useState<{ webhookUrl: string | null; webhookPath: string; signingKey?: string } | null>(null);
  const act = useAction();
  const refresh = () => setTick((t) => t + 1);
  const statusOf = (id: string) => status.data?.channels.find((s) => s.id === id);
  const channels = list.data?.channels ?? [];
  return (
    <section aria-labelledby="page-title">
      <PageHeader
        title="Channels"
        actions={
          <button type="button" onClick={refresh}>
            Refresh
          </button>
        }
      />
      {paired?.signingKey && (
        <SecretOnce label="Webhook signing key" value={paired.signingKey} onDismiss={() => setPaired(null)}>
          <p>Webhook: {paired.webhookUrl ?? paired.webhookPath}</p>
        </SecretOnce>
      )}
      {paired && !paired.signingKey && (
        <p class="card" role="status">
          Paired. Give the platform this webhook: <code>{paired.webhookUrl ?? paired.webhookPath}</code>
        </p>
      )}
      <Pair
        api={api}
        onPaired={(p) => {
          setPaired(p);
          refresh();
        }}
      />
      {list.loading && <Loading label="Loading channels…" />}
      {list.error !== null && <ErrorBox error={list.error} retry={list.reload} />}
      {status.error !== null && <ErrorBox error={status.error} retry={status.reload} />}
      {act.error !== null && <ErrorBox error={act.error} />}
      {list.data && (
        <DataTable<Channel>
          caption={`${channels.length} channel(s)`}
          rows={channels}
          empty="No channels paired yet."
          columns={[
            { key: "name", label: "Channel", render: (c) => <>{c.name} <small class="muted">{c.kind}</small></> },
            { key: "status", label: "Status", render: (c) => <><Badge tone={c.status === "active" ? "ok" : "bad"}>{c.status}</Badge>{c.lastError ? ` ${c.lastError}` : ""}</> },
            { key: "masked", label: "Credentials", render: (c) => Object.entries(c.masked).map(([k, v]) => `${k} ${v}`).join(", ") },
            { key: "webhook", label: "Webhook", render: (c) => <code>{c.webhookUrl ?? c.webhookPath}</code> },
            {
              key: "counters",
              label: "Messages",
              render: (c) => {
                const s = statusOf(c.id);
                return s ? `${s.counters.received} in, ${s.counters.replied} replied, ${s.counters.failed} failed, ${s.queued} queued` : "";
              },
            },
            {
              key: "pending",
              label: "Awaiting approval",
              render: (c) => (statusOf(c.id)?.pendingPeers ?? []).map((p) => `${p.peerName ?? p.peerId} (until ${when(p.expiresAtMs)})`).join(", ") || "none",
            },
            {
              key: "actions",
              label: "Actions",
              render: (c) => (
                <ConfirmButton confirmLabel={`Unpair ${c.name}`} onConfirm={() => act.run("unpair", () => api.rpc("channels.unpair", { channelId: c.id })).then(refresh)}>
                  Unpair
                </ConfirmButton>
              ),
            },
          ]}
        />
      )}
      {channels.filter((c) => c.options.dmPolicy === undefined || c.options.dmPolicy === "pairing").length > 0 && (
        <section class="card" aria-labelledby="approve-title">
          <h2 id="approve-title">Approve a sender</h2>
          <p class="muted">A sender the channel does not know gets a pairing code; enter it here to let them talk to your agent.</p>
          {channels
            .filter((c) => c.options.dmPolicy === undefined || c.options.dmPolicy === "pairing")
            .map((c) => (
              <Approve key={c.id} api={api} channel={c} onDone={refresh} />
            ))}
        </section>
      )}
    </section>
  );
}

export default definePage({ id: "channels", component: Channels });
