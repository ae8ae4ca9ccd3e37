// The sandbox limits an operator sets (sandbox.limits), and what applies when the config sets none.
// Every ceiling a tenant's overlay or a call may only lower starts here.
import type { GatewayConfig } from "./schema.ts";

export interface EffectiveLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
  timeoutSeconds: number;
  tmpfsMb: number;
  outputBytes: number;
  /** The tenant's whole directory (workspace included): allocated MiB and names (see disk.ts). */
  diskMb: number;
  inodes: number;
}

/** Admin ceilings when the gateway config sets none. */
export const DEFAULT_LIMITS: EffectiveLimits = {
  memoryMb: 512,
  cpus: 1,
  pids: 256,
  timeoutSeconds: 60,
  tmpfsMb: 64,
  outputBytes: 1024 * 1024,
  diskMb: 1024,
  inodes: 100_000,
};

/** The admin's ceilings: the config's sandbox.limits over the defaults. */
export function sandboxCeilings(config: GatewayConfig): EffectiveLimits {
  return { ...DEFAULT_LIMITS, ...config.sandbox.limits };
}
