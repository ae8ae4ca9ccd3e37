// Resources the server names, for the generated suites (isolation, change rate): a method's example
// names one by a placeholder, and a suite makes one for a tenant and puts its id in its place.
import type { Core } from "../../src/app/core.ts";
import { EXAMPLE_CHANNEL_ID } from "../../src/modules/channels/channels.model.ts";
import { EXAMPLE_JOB_ID } from "../../src/modules/cron/cron.model.ts";
import { operatorCtx, scope } from "./core.ts";

/**
 * Resources the server names (a cron job's id is made by cron.add): a method's example names one by
 * a placeholder, and the suite makes one for A and one for B and puts their ids in its place — A's to
 * call a method on A's own, B's to attack it. A method that names a new kind of server-made resource
 * gets its placeholder here, with how to make one for a tenant.
 */
export const RESOURCE_EXAMPLES: Record<string, (core: Core, tenant: string, words: string) => string | Promise<string>> = {
  [EXAMPLE_JOB_ID]: (core, tenant, words) =>
    core.cron.add(scope(tenant), { name: words, description: words, schedule: { kind: "every", everyMs: 3_600_000 }, payload: { kind: "agentTurn", message: words } }, operatorCtx).id,
  // A channel needs gateway.channels.secretKey in the world's config (CHANNELS_TEST_CONFIG).
  [EXAMPLE_CHANNEL_ID]: async (core, tenant, words) => (await core.channels.pair(scope(tenant), { kind: "webhook", name: words, credentials: {} }, operatorCtx)).channel.id,
};

/** The config a world that seeds RESOURCE_EXAMPLES needs (channels: a key to seal credentials with). */
export const CHANNELS_TEST_CONFIG = { secretKey: "test-channels-secret-key-0123456789" };

/** `value` with every placeholder of RESOURCE_EXAMPLES replaced by the id `ids` gives it. */
export function withIds<T>(value: T, ids: Record<string, string>): T {
  if (typeof value === "string") return (ids[value] ?? value) as T;
  if (Array.isArray(value)) return value.map((v) => withIds(v, ids)) as T;
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withIds(v, ids)])) as T;
  return value;
}

/** Makes one of each RESOURCE_EXAMPLES resource for `tenant`: placeholder → its id. */
export async function seedResources(core: Core, tenant: string, words: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [placeholder, make] of Object.entries(RESOURCE_EXAMPLES)) out[placeholder] = await make(core, tenant, words);
  return out;
}

/** Whether a method's example names a server-made resource. */
export const namesResource = (example: unknown): boolean => JSON.stringify(example ?? null) !== JSON.stringify(withIds(example ?? null, Object.fromEntries(Object.keys(RESOURCE_EXAMPLES).map((k) => [k, `${k}\u0000`]))));
