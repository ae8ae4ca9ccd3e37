// What the channels service offers its surfaces (RPC, admin API, CLI) and other modules (cron).
import type { OpContext } from "../../edge/actor.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import type { ChannelKindName, ChannelOptionsCommon } from "./kinds/kind.ts";

export interface ChannelOptions extends ChannelOptionsCommon {
  /** webhook kind: where replies are POSTed (vetted against gateway.channels.kinds.webhook.callbackAllow). */
  callbackUrl?: string;
}

export interface ChannelView {
  id: string;
  kind: ChannelKindName;
  name: string;
  status: "active" | "error";
  lastError: string | null;
  options: ChannelOptions;
  /** The last characters of each secret a kind allows to show ("…wxyz"); never a secret. */
  masked: Record<string, string>;
  /** Non-secret facts from the platform (bot username, ids). */
  facts: Record<string, string>;
  webhookPath: string;
  webhookUrl: string | null;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface PendingPeer {
  peerId: string;
  peerName: string | null;
  expiresAtMs: number;
}

export interface ChannelStatus {
  id: string;
  kind: ChannelKindName;
  name: string;
  status: "active" | "error";
  lastError: string | null;
  counters: { received: number; replied: number; failed: number; dropped: number; replays: number };
  queued: number;
  pendingPeers: PendingPeer[];
}

export interface PairInput {
  kind: string;
  name?: string;
  credentials?: unknown;
  options?: ChannelOptions;
}

export interface PairResult {
  channel: ChannelView;
  webhookUrl: string | null;
  webhookPath: string;
  /** webhook kind with a generated signing secret: shown here, once. */
  signingKey?: string;
}

export interface ChannelsApi {
  pair(tenant: TenantScope, input: PairInput, op: OpContext): Promise<PairResult>;
  unpair(tenant: TenantScope, channelId: string, op: OpContext): Promise<{ unpaired: true; id: string }>;
  list(tenant: TenantScope): { channels: ChannelView[] };
  status(tenant: TenantScope, channelId?: string): { channels: ChannelStatus[] };
  approve(tenant: TenantScope, channelId: string, code: string, op: OpContext): { approved: true; channelId: string; peerId: string };
  /** Sends a text to a chat of one of the tenant's channels (cron delivery): resolves once delivered, or throws. */
  deliver(tenant: TenantScope, channelId: string, to: string, text: string): Promise<void>;
}
