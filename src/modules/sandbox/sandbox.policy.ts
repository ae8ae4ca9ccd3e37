// What a run may do: the command and environment a caller may pass, and the mode, limits and egress
// allow-list, from the admin's ceilings (gateway config), narrowed by the tenant's overlay and the
// call — never widened.
import type { GatewayConfig } from "../../config/schema.ts";
import { sandboxCeilings, type EffectiveLimits } from "../../config/sandbox-limits.ts";
import { AppError } from "../../core/errors.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { parseEgressEntry, type EgressRule } from "../../lib/egress-rules.ts";
import type { OverlaysService } from "../overlays/overlays.service.ts";
import type { SandboxMode, SandboxRequest } from "./sandbox.types.ts";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const RESERVED_ENV = new Set(["PATH", "HOME", "TMPDIR", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"]);
const MAX_ENV_BYTES = 64 * 1024;
const MAX_ARGV_BYTES = 256 * 1024;

/** Validates a caller's environment: names by pattern, the gateway's own variables reserved, size capped. */
export function checkEnv(env: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [k, v] of Object.entries(env ?? {})) {
    if (!ENV_NAME.test(k)) throw new AppError("INVALID_PARAMS", `environment variable name ${JSON.stringify(k.slice(0, 64))} is not allowed (letters, digits and _; not starting with a digit)`);
    if (RESERVED_ENV.has(k) || k.startsWith("OPENCLAW_")) throw new AppError("INVALID_PARAMS", `environment variable ${k} is set by the gateway and cannot be overridden`);
    if (typeof v !== "string" || v.includes("\0")) throw new AppError("INVALID_PARAMS", `environment variable ${k} must be a string without NUL`);
    bytes += k.length + Buffer.byteLength(v) + 2;
    out[k] = v;
  }
  if (bytes > MAX_ENV_BYTES) throw new AppError("INVALID_PARAMS", `environment is larger than ${MAX_ENV_BYTES} bytes`);
  return out;
}

export function checkCommand(command: string[]): string[] {
  if (!Array.isArray(command) || command.length === 0) throw new AppError("INVALID_PARAMS", "command is empty");
  let bytes = 0;
  for (const a of command) {
    if (typeof a !== "string") throw new AppError("INVALID_PARAMS", "command arguments must be strings");
    if (a.includes("\0")) throw new AppError("INVALID_PARAMS", "command arguments cannot contain NUL");
    bytes += Buffer.byteLength(a) + 1;
  }
  if (command[0] === "") throw new AppError("INVALID_PARAMS", "command is empty");
  if (bytes > MAX_ARGV_BYTES) throw new AppError("INVALID_PARAMS", `command is longer than ${MAX_ARGV_BYTES} bytes`);
  return command;
}

export function createRunPolicy(deps: { config: () => GatewayConfig; overlays: OverlaysService }) {
  return {
    /** The admin's ceilings, lowered by the overlay, and the call's timeout (at most the result). */
    limits(tenant: TenantScope, timeoutSeconds: number | undefined): EffectiveLimits {
      const ceilings = sandboxCeilings(deps.config());
      const overlay = deps.overlays.current(tenant).sandbox?.limits ?? {};
      const limits = { ...ceilings };
      for (const k of Object.keys(limits) as (keyof EffectiveLimits)[]) {
        const v = overlay[k];
        if (typeof v === "number") limits[k] = Math.min(limits[k], v);
      }
      if (timeoutSeconds !== undefined) {
        if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) throw new AppError("INVALID_PARAMS", "timeoutSeconds must be a positive integer");
        if (timeoutSeconds > limits.timeoutSeconds) throw new AppError("INVALID_PARAMS", `timeoutSeconds ${timeoutSeconds} exceeds this tenant's limit of ${limits.timeoutSeconds}`);
        limits.timeoutSeconds = timeoutSeconds;
      }
      return limits;
    },

    /** The call's mode, else the overlay's, else the gateway's: always one of sandbox.allowedModes. */
    mode(tenant: TenantScope, requested: SandboxMode | undefined): SandboxMode {
      const c = deps.config();
      const allowed = c.sandbox.allowedModes ?? ["bwrap"];
      const mode = requested ?? deps.overlays.current(tenant).sandbox?.mode ?? c.sandbox.mode ?? allowed[0] ?? "bwrap";
      if (!allowed.includes(mode)) throw new AppError("FORBIDDEN", `sandbox mode "${mode}" is not allowed by the gateway (allowed: ${allowed.join(", ")})`);
      return mode;
    },

    /** What the run may reach: the operator's explicit entries, or a tool's (admin ceiling, opted into by the overlay). */
    egress(req: SandboxRequest): EgressRule[] {
      const rules: EgressRule[] = [];
      if (req.allow?.length) {
        if (req.origin !== "operator") throw new AppError("FORBIDDEN", "explicit egress entries are for the operator; tenants name a tool");
        for (const e of req.allow) {
          try {
            rules.push(parseEgressEntry(e));
          } catch (err) {
            throw new AppError("INVALID_PARAMS", `--allow ${(err as Error).message}`);
          }
        }
      }
      if (req.tool !== undefined) {
        const c = deps.config();
        const overlay = deps.overlays.current(req.tenant);
        if (overlay.tools?.allow && !overlay.tools.allow.includes(req.tool)) throw new AppError("FORBIDDEN", `tool "${req.tool}" is not among this tenant's allowed tools`);
        const ceiling = c.sandbox.egress?.tools?.[req.tool];
        if (!ceiling) throw new AppError("FORBIDDEN", `tool "${req.tool}" has no egress allowed by the gateway`);
        for (const e of overlay.tools?.egress?.[req.tool] ?? []) rules.push(parseEgressEntry(e));
      }
      return rules;
    },
  };
}
