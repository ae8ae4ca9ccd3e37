// Tenant overlays: read (validated), written only through config.set / config.patch after the same
// validation, atomically and with an audit record. An overlay that does not validate (edited on disk,
// a path swapped for a link, a ceiling the operator lowered) is never applied in part and never
// ignored: every call that depends on it is refused with the reason until the tenant (or operator)
// fixes it; the tenant itself, and every other tenant, is still served.
import fs from "node:fs";
import path from "node:path";
import type { GatewayConfig } from "../../config/schema.ts";
import type { Logger } from "../../core/logger.ts";
import { configError } from "../../config/load.ts";
import { parseJsonc } from "../../config/jsonc.ts";
import { AppError } from "../../core/errors.ts";
import { fileStamp, writeFileAtomic } from "../../lib/fs-durable.ts";
import { findReservedKey, RESERVED_KEY_MESSAGE } from "../../lib/json-safe.ts";
import type { AuditLog } from "../audit/audit.service.ts";
import type { OpContext } from "../../edge/actor.ts";
import type { TenantScope } from "../../edge/tenant-scope.ts";
import { tenantDir } from "../../lib/tenant-dirs.ts";
import { resolveInRoot } from "../paths/path-resolver.ts";
import type { Overlay, OverlayStatus } from "./overlay.schema.ts";
import { overlayProblems } from "./overlay.validate.ts";

export const OVERLAY_FILE = "openclaw.json";
const MAX_OVERLAY_BYTES = 256 * 1024;

export function overlayLabel(tenantId: string): string {
  return `tenants/${tenantId}/${OVERLAY_FILE}`;
}

/**
 * RFC 7396 JSON merge patch: objects merge, null deletes, everything else replaces. Objects are built
 * without a prototype, so no key — "__proto__" included — can do anything but be a key (callers
 * refuse reserved names before merging; this is the second line).
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const base = Object.create(null) as Record<string, unknown>;
  if (target && typeof target === "object" && !Array.isArray(target)) for (const [k, v] of Object.entries(target)) base[k] = v;
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

type Verdict = { ok: true; overlay: Overlay; exists: boolean } | { ok: false; error: AppError };

export function createOverlaysService(deps: { home: string; audit: AuditLog; config: () => GatewayConfig; log?: Logger }) {
  const { home, audit } = deps;

  function file(tenantId: string): { root: string; path: string; exists: boolean } {
    const root = tenantDir(home, tenantId);
    // The overlay's own location goes through the resolver too: a symlink planted there is refused.
    const r = resolveInRoot(root, OVERLAY_FILE, { leaf: "nofollow" });
    return { root, path: r.absolute, exists: r.exists };
  }

  function validate(tenantId: string, raw: unknown): Overlay {
    const problems = overlayProblems(raw, { tenantRoot: tenantDir(home, tenantId), config: deps.config() });
    if (problems.length > 0) throw configError(overlayLabel(tenantId), problems);
    return raw as Overlay;
  }

  function readRaw(tenantId: string): unknown {
    const f = file(tenantId);
    if (!f.exists) return {};
    const fd = fs.openSync(f.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new AppError("CONFIG_INVALID", `${overlayLabel(tenantId)}: is not a regular file`);
      if (st.size > MAX_OVERLAY_BYTES) throw new AppError("CONFIG_INVALID", `${overlayLabel(tenantId)}: larger than ${MAX_OVERLAY_BYTES} bytes`);
      return parseJsonc(fs.readFileSync(fd, "utf8"), overlayLabel(tenantId)) ?? {};
    } finally {
      fs.closeSync(fd);
    }
  }

  // Overlays are read on every routed request: keep each verdict (valid or not) until its file or the
  // gateway config changes. The file is re-checked at most every RECHECK_MS (writes through
  // config.set drop the entry at once; checkAll re-validates from scratch).
  const cache = new Map<string, { stamp: string; config: GatewayConfig; verdict: Verdict; checkedAt: number }>();
  const RECHECK_MS = 250;

  function stampOf(tenantId: string): string {
    // Most tenants have no overlay: that is "none", not an exception (one per request is expensive).
    return fileStamp(path.join(tenantDir(home, tenantId), OVERLAY_FILE), { nofollow: true }) ?? "none";
  }

  function evaluate(tenantId: string): Verdict {
    try {
      const exists = stampOf(tenantId) !== "none";
      return { ok: true, overlay: validate(tenantId, readRaw(tenantId)), exists };
    } catch (err) {
      if (err instanceof AppError) return { ok: false, error: err };
      // An unreadable file (EACCES, EIO…) refuses the tenant's overlay-dependent calls, like an invalid one.
      return { ok: false, error: new AppError("CONFIG_INVALID", `${overlayLabel(tenantId)}: cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`) };
    }
  }

  /**
   * The cached verdict, re-validated when the file or the gateway config changed (or `fresh`). Only
   * the enforcement path (current) logs a change of verdict: checkAll's callers log what they found
   * themselves, and operator views (CLI included) show it rather than log it.
   */
  function verdictOf(tenantId: string, fresh = false, logChange = false): Verdict {
    const config = deps.config();
    const now = performance.now();
    const hit = cache.get(tenantId);
    if (!fresh && hit && hit.config === config && now - hit.checkedAt < RECHECK_MS) return hit.verdict;
    const stamp = stampOf(tenantId);
    if (!fresh && hit && hit.stamp === stamp && hit.config === config) {
      hit.checkedAt = now;
      return hit.verdict;
    }
    const verdict = evaluate(tenantId);
    if (logChange && !verdict.ok && (!hit || hit.verdict.ok)) {
      deps.log?.error("tenant config overlay refused: the calls that depend on it are refused until it is fixed", { tenant: tenantId, reason: verdict.error.message });
    } else if (logChange && verdict.ok && hit && !hit.verdict.ok) {
      deps.log?.info("tenant config overlay valid again", { tenant: tenantId });
    }
    cache.set(tenantId, { stamp, config, verdict, checkedAt: now });
    return verdict;
  }

  /** What a call that needs the overlay gets when it is invalid: the reason, and how to fix it. */
  function refusal(error: AppError): AppError {
    return new AppError("CONFIG_INVALID", `the tenant's config overlay is invalid, so calls that depend on it are refused until it is fixed (config.set or config.patch): ${error.message}`, {
      details: error.details,
    });
  }

  function write(tenantId: string, value: unknown, ctx: OpContext, action: string): Overlay {
    const overlay = validate(tenantId, value);
    const was = cache.get(tenantId)?.verdict;
    const text = `${JSON.stringify(overlay, null, 2)}\n`;
    if (Buffer.byteLength(text) > MAX_OVERLAY_BYTES) throw new AppError("CONFIG_INVALID", `${overlayLabel(tenantId)}: larger than ${MAX_OVERLAY_BYTES} bytes`);
    audit.transact(
      { actor: ctx.actor, action, target: { type: "tenant.config", id: tenantId }, tenant: tenantId, requestId: ctx.requestId, clientRequestId: ctx.clientRequestId, src: { ip: ctx.ip }, details: { keys: Object.keys(overlay) } },
      (onRollback) => {
        const f = file(tenantId);
        const previous = f.exists ? fs.readFileSync(f.path) : null;
        cache.delete(tenantId);
        writeFileAtomic(f.path, text);
        onRollback(() => (previous ? writeFileAtomic(f.path, previous) : fs.rmSync(f.path, { force: true })));
      },
    );
    cache.delete(tenantId);
    if (was && !was.ok) deps.log?.info("tenant config overlay valid again", { tenant: tenantId });
    return overlay;
  }

  return {
    /** The tenant's overlay, validated; throws CONFIG_INVALID naming the file and key path. */
    load(tenant: TenantScope): Overlay {
      return validate(tenant.tenantId, readRaw(tenant.tenantId));
    },

    /**
     * The overlay as load() returns it, cached until the file or the gateway config changes. When it
     * does not validate, throws CONFIG_INVALID with the reason: a call that depends on a tenant's
     * overlay never runs with part of it, nor without it (which could widen what the tenant asked for).
     */
    current(tenant: TenantScope): Overlay {
      const v = verdictOf(tenant.tenantId, false, true);
      if (!v.ok) throw refusal(v.error);
      return v.overlay;
    },

    /**
     * Whether the tenant's overlay is in force, and if not, why (operator views). Re-validated now,
     * so a path swapped since the last check shows here, and is refused from here on.
     */
    status(tenant: TenantScope): OverlayStatus {
      const v = verdictOf(tenant.tenantId, true);
      if (!v.ok) return { state: "invalid", reason: v.error.message };
      return { state: v.exists ? "valid" : "none" };
    },

    /** The overlay file as parsed, valid or not (the operator's view; null if it does not parse). */
    raw(tenant: TenantScope): unknown {
      try {
        return readRaw(tenant.tenantId);
      } catch {
        return null;
      }
    },

    set(tenant: TenantScope, value: unknown, ctx: OpContext): Overlay {
      return write(tenant.tenantId, value, ctx, "tenant.config.set");
    },

    patch(tenant: TenantScope, patch: unknown, ctx: OpContext): Overlay {
      const tenantId = tenant.tenantId;
      if (!patch || typeof patch !== "object" || Array.isArray(patch)) throw new AppError("INVALID_PARAMS", "patch must be a JSON object (RFC 7396 merge patch)");
      const reserved = findReservedKey(patch);
      if (reserved) throw configError(overlayLabel(tenantId), [{ path: reserved, message: RESERVED_KEY_MESSAGE }]);
      return write(tenantId, mergePatch(readRaw(tenantId), patch), ctx, "tenant.config.patch");
    },

    /**
     * Re-validates every tenant's overlay from disk now (start, config reload, doctor, config check)
     * and returns the invalid ones. Their calls are refused from then on; nothing else is affected.
     */
    checkAll(tenantIds: string[]): { tenantId: string; message: string }[] {
      const invalid: { tenantId: string; message: string }[] = [];
      for (const id of tenantIds) {
        const v = verdictOf(id, true);
        if (!v.ok) invalid.push({ tenantId: id, message: v.error.message });
      }
      return invalid;
    },

    path: (tenant: TenantScope) => path.join(tenantDir(home, tenant.tenantId), OVERLAY_FILE),
  };
}

export type OverlaysService = ReturnType<typeof createOverlaysService>;
