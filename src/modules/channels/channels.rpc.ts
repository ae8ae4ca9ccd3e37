// Tenant RPC methods of channels: pair, unpair, list, status, approve — each for the caller's own
// channels only (defineTenantMethod); another tenant's channel is the same NOT_FOUND as one that does
// not exist. pair, unpair and approve are audited changes.
import { Type as T } from "@sinclair/typebox";
import { defineTenantMethod } from "../../edge/rpc.ts";
import { ApproveResultSchema, ChannelId, CodeSchema, EXAMPLE_CHANNEL_ID, ListSchema, PairFields, PairResultSchema, StatusSchema, UnpairResultSchema } from "./channels.model.ts";
import type { ChannelsApi, PairInput } from "./channels.types.ts";

export function channelsRpc({ channels }: { channels: ChannelsApi }) {
  return [
    defineTenantMethod({
      name: "channels.pair",
      summary: "Pairs a chat-platform account (Telegram bot, Slack app, WhatsApp number, Discord app, signed webhook) with the caller's agent. Credentials are stored encrypted and never returned; the answer has the webhook URL to give the platform (Telegram's is set by the gateway).",
      params: PairFields,
      result: PairResultSchema,
      mutates: true,
      audited: true,
      returnsSecret: true,
      example: { kind: "webhook", name: "my integration", options: { dmPolicy: "open" } },
      handler: (tenant, p, ctx) => channels.pair(tenant, p as PairInput, ctx.op),
    }),
    defineTenantMethod({
      name: "channels.list",
      summary: "The caller's channels: kind, name, status, options, webhook path and URL, masked credentials (last characters only).",
      params: {},
      result: ListSchema,
      mutates: false,
      example: {},
      handler: (tenant) => channels.list(tenant),
    }),
    defineTenantMethod({
      name: "channels.status",
      summary: "Counters (received, replied, failed, dropped, replays), queued messages, the last error and the senders awaiting approval — of one channel or all the caller's.",
      params: { channelId: T.Optional(ChannelId) },
      result: StatusSchema,
      mutates: false,
      example: {},
      handler: (tenant, p) => channels.status(tenant, p.channelId),
    }),
    defineTenantMethod({
      name: "channels.approve",
      summary: "Lets a sender talk to the agent: the pairing code the channel gave them (dmPolicy pairing).",
      params: { channelId: ChannelId, code: CodeSchema },
      result: ApproveResultSchema,
      mutates: true,
      audited: true,
      example: { channelId: EXAMPLE_CHANNEL_ID, code: "ABCD-EFGH" },
      handler: (tenant, p, ctx) => channels.approve(tenant, p.channelId, p.code, ctx.op),
    }),
    defineTenantMethod({
      name: "channels.unpair",
      summary: "Unpairs a channel: its webhook path stops at once, queued messages are dropped, the platform's webhook is removed (best effort).",
      params: { channelId: ChannelId },
      result: UnpairResultSchema,
      mutates: true,
      audited: true,
      example: { channelId: EXAMPLE_CHANNEL_ID },
      handler: (tenant, p, ctx) => channels.unpair(tenant, p.channelId, ctx.op),
    }),
  ];
}
