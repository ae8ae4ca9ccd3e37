// The wire shapes of the channels surfaces (RPC, admin API), as TypeBox schemas both transports
// validate with. Credentials are an open object (each kind checks its own fields, naming the one at
// fault); nothing here ever carries a stored secret back.
import { Type as T } from "@sinclair/typebox";

const strict = { additionalProperties: false } as const;

/** A channel's id as the service makes it; any other string is the same NOT_FOUND as an unknown id. */
export const ChannelId = T.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$", description: "the channel's id (from channels.pair or channels.list)" });

/** The id the methods' examples name: the generated suites pair a channel and put its id in place of this one. */
export const EXAMPLE_CHANNEL_ID = "ch_example";

export const KindSchema = T.Union([T.Literal("telegram"), T.Literal("slack"), T.Literal("whatsapp"), T.Literal("discord"), T.Literal("webhook")]);

export const OptionsSchema = T.Object(
  {
    agentId: T.Optional(T.String({ description: 'the agent that answers (default: the session\'s, "main")' })),
    dmPolicy: T.Optional(T.Union([T.Literal("pairing"), T.Literal("allowlist"), T.Literal("open")], { description: 'who may talk: "pairing" (default: unknown senders get a code to approve), "allowlist" (allowFrom only), "open"' })),
    allowFrom: T.Optional(T.Array(T.String({ minLength: 1, maxLength: 200 }), { maxItems: 1000, description: "sender ids (and group ids) let through" })),
    mode: T.Optional(T.Union([T.Literal("webhook"), T.Literal("polling")], { description: 'telegram: "webhook" (default; needs gateway.channels.publicBaseUrl) or "polling"' })),
    callbackUrl: T.Optional(T.String({ maxLength: 2000, description: "webhook kind: where replies are POSTed (signed), within the operator's callbackAllow" })),
  },
  strict,
);

export const PairFields = {
  kind: KindSchema,
  name: T.Optional(T.String({ minLength: 1, maxLength: 100 })),
  credentials: T.Optional(T.Record(T.String({ maxLength: 64 }), T.String({ maxLength: 4096 }), { description: "the kind's credentials, as the README's Channels section lists them per kind (telegram: botToken); stored encrypted, never returned" })),
  options: T.Optional(OptionsSchema),
};

export const ChannelSchema = T.Object({
  id: T.String(),
  kind: KindSchema,
  name: T.String(),
  status: T.Union([T.Literal("active"), T.Literal("error")]),
  lastError: T.Union([T.String(), T.Null()]),
  options: OptionsSchema,
  masked: T.Record(T.String(), T.String(), { description: "the last four characters of the credentials a kind shows (…wxyz), nothing more" }),
  facts: T.Record(T.String(), T.String()),
  webhookPath: T.String(),
  webhookUrl: T.Union([T.String(), T.Null()]),
  createdAtMs: T.Integer(),
  updatedAtMs: T.Integer(),
});

export const PairResultSchema = T.Object({
  channel: ChannelSchema,
  webhookUrl: T.Union([T.String(), T.Null()]),
  webhookPath: T.String(),
  signingKey: T.Optional(T.String({ description: "webhook kind paired without credentials: the signing key made for it, shown in this answer only" })),
});

export const ListSchema = T.Object({ channels: T.Array(ChannelSchema) });

export const StatusSchema = T.Object({
  channels: T.Array(
    T.Object({
      id: T.String(),
      kind: KindSchema,
      name: T.String(),
      status: T.Union([T.Literal("active"), T.Literal("error")]),
      lastError: T.Union([T.String(), T.Null()]),
      counters: T.Object({ received: T.Integer(), replied: T.Integer(), failed: T.Integer(), dropped: T.Integer(), replays: T.Integer() }),
      queued: T.Integer(),
      pendingPeers: T.Array(T.Object({ peerId: T.String(), peerName: T.Union([T.String(), T.Null()]), expiresAtMs: T.Integer() })),
    }),
  ),
});

export const UnpairResultSchema = T.Object({ unpaired: T.Literal(true), id: T.String() });
export const ApproveResultSchema = T.Object({ approved: T.Literal(true), channelId: T.String(), peerId: T.String() });
export const CodeSchema = T.String({ minLength: 4, maxLength: 32, description: "the pairing code the sender was given (e.g. ABCD-EFGH)" });
