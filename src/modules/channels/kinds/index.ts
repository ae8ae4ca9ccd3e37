// The channel kinds the gateway speaks, by name. A kind not listed here (or disabled by the operator
// in gateway.channels.kinds) cannot be paired, and its webhook paths answer the identical refusal.
import type { ChannelKind, ChannelKindName } from "./kind.ts";
import { discordKind } from "./discord.ts";
import { slackKind } from "./slack.ts";
import { telegramKind } from "./telegram.ts";
import { whatsappKind } from "./whatsapp.ts";
import { webhookKind } from "./webhook.ts";

export const KINDS: Partial<Record<ChannelKindName, ChannelKind>> = {
  telegram: telegramKind,
  slack: slackKind,
  whatsapp: whatsappKind,
  discord: discordKind,
  webhook: webhookKind,
};

export const KIND_NAMES = ["telegram", "slack", "whatsapp", "discord", "webhook"] as const satisfies readonly ChannelKindName[];

export function kindOf(name: string): ChannelKind | null {
  return Object.hasOwn(KINDS, name) ? (KINDS[name as ChannelKindName] ?? null) : null;
}
