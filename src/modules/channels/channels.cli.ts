// `openclaw channels list | pair | unpair | status | approve --tenant <id>`: the operator's view of a
// tenant's channels. Each command names its tenant through the operator's context (an unknown tenant
// is said so) and calls the channels service, which audits changes under the OS user. Credentials
// come as JSON (--credentials) or from a file (--credentials-file), never echoed.
import fs from "node:fs";
import { CliError, commandsFor, commonArgs, type CliTree } from "../module-cli.ts";
import type { ChannelsApi, ChannelStatus, ChannelView } from "./channels.types.ts";

type Services = { channels: ChannelsApi };
const command = commandsFor<Services>();
const tenant = { type: "string", required: true, description: "tenant id" } as const;
const channelId = { type: "positional", required: true, description: "channel id (from openclaw channels list)" } as const;

function json(v: string, flag: string): unknown {
  try {
    return JSON.parse(v) as unknown;
  } catch (err) {
    throw new CliError(`--${flag} is not valid JSON: ${(err as Error).message}`);
  }
}

const line = (c: ChannelView) => `${c.id}  ${c.kind}  ${JSON.stringify(c.name)}  ${c.status}${c.lastError ? ` (${c.lastError})` : ""}  ${c.webhookUrl ?? c.webhookPath}${Object.keys(c.masked).length ? `  ${Object.entries(c.masked).map(([k, v]) => `${k}=${v}`).join(" ")}` : ""}`;
const statusLine = (s: ChannelStatus) =>
  `${s.id}  ${s.kind}  ${s.status}  received ${s.counters.received}, replied ${s.counters.replied}, failed ${s.counters.failed}, dropped ${s.counters.dropped}, replays ${s.counters.replays}, queued ${s.queued}${s.lastError ? `  last error: ${s.lastError}` : ""}`;

const list = command({
  description: "List a tenant's channels",
  args: { ...commonArgs, tenant },
  run({ channels }, args, io) {
    const r = channels.list(io.operator.tenant(args.tenant));
    io.emit(r, () => {
      if (r.channels.length === 0) return io.line(`No channels for ${args.tenant}. Pair one with: openclaw channels pair --tenant ${args.tenant} --kind telegram --credentials '{"botToken":"…"}'`);
      for (const c of r.channels) io.line(line(c));
    });
  },
});

const pair = command({
  description: "Pair a chat-platform account with a tenant's agent (--kind, --credentials <json> or --credentials-file, --options <json>)",
  args: {
    ...commonArgs,
    tenant,
    kind: { type: "string", required: true, description: "telegram, slack, whatsapp, discord or webhook" },
    name: { type: "string", description: "a name for the channel (default: the kind)" },
    credentials: { type: "string", description: "the kind's credentials as JSON (prefer --credentials-file: command lines are visible to other users)" },
    "credentials-file": { type: "string", description: "a file holding the credentials as JSON" },
    options: { type: "string", description: 'options as JSON, e.g. {"dmPolicy":"allowlist","allowFrom":["123"]}' },
  },
  async run({ channels }, args, io) {
    if (args.credentials !== undefined && args["credentials-file"] !== undefined) throw new CliError("give one of --credentials and --credentials-file");
    let credentials: unknown;
    if (args.credentials !== undefined) credentials = json(args.credentials, "credentials");
    else if (args["credentials-file"] !== undefined) {
      let text: string;
      try {
        text = fs.readFileSync(args["credentials-file"], "utf8");
      } catch (err) {
        throw new CliError(`--credentials-file: ${(err as Error).message}`);
      }
      credentials = json(text, "credentials-file");
    }
    const options = args.options !== undefined ? json(args.options, "options") : undefined;
    const r = await channels.pair(io.operator.tenant(args.tenant), { kind: args.kind, ...(args.name ? { name: args.name } : {}), credentials, options: options as never }, io.operator);
    io.emit(r, () => {
      io.line(`✓ channel paired · ${line(r.channel)}`);
      if (!r.webhookUrl) io.line(`  webhook path: ${r.webhookPath} (set gateway.channels.publicBaseUrl for a full URL)`);
      if (r.signingKey) {
        io.line("✓ signing key (copy now — shown once):");
        io.line(r.signingKey);
      }
    });
  },
});

const unpair = command({
  description: "Unpair a tenant's channel (its webhook path stops at once)",
  args: { ...commonArgs, tenant, channelId },
  async run({ channels }, args, io) {
    const r = await channels.unpair(io.operator.tenant(args.tenant), args.channelId, io.operator);
    io.emit(r, () => io.line(`✓ channel ${r.id} unpaired`));
  },
});

const status = command({
  description: "A tenant's channels: counters, queue, last error, senders awaiting approval",
  args: { ...commonArgs, tenant, channelId: { type: "positional", required: false, description: "one channel (default: all)" } },
  run({ channels }, args, io) {
    const r = channels.status(io.operator.tenant(args.tenant), args.channelId || undefined);
    io.emit(r, () => {
      if (r.channels.length === 0) return io.line("No channels.");
      for (const s of r.channels) {
        io.line(statusLine(s));
        for (const p of s.pendingPeers) io.line(`  awaiting approval: ${p.peerId}${p.peerName ? ` (${p.peerName})` : ""} until ${new Date(p.expiresAtMs).toISOString()}`);
      }
    });
  },
});

const approve = command({
  description: "Approve a sender's pairing code on a tenant's channel",
  args: { ...commonArgs, tenant, channelId, code: { type: "positional", required: true, description: "the code the sender was given" } },
  run({ channels }, args, io) {
    const r = channels.approve(io.operator.tenant(args.tenant), args.channelId, args.code, io.operator);
    io.emit(r, () => io.line(`✓ sender ${r.peerId} approved on ${r.channelId}`));
  },
});

export const channelsCli: CliTree<Services> = {
  channels: { description: "Tenants' messaging channels (Telegram, Slack, WhatsApp, Discord, webhooks)", commands: { list, pair, unpair, status, approve } },
};
