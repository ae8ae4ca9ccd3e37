// createCore: the one set of services the CLI and the HTTP server share. Wiring only.
import fs from "node:fs";
import path from "node:path";
import { readEnvironment, type Environment } from "../config/env.ts";
import { loadGatewayConfig, type ConfigOverrides, type LoadedConfig } from "../config/load.ts";
import type { GatewayConfig } from "../config/schema.ts";
import { openDatabase, type DbHandle } from "../db/client.ts";
import { createChangeTracker, openGeneration } from "../db/change-tracker.ts";
import { ensurePrivateDir } from "../lib/fs-durable.ts";
import { acceptedAdminDigests } from "../modules/admin-key/admin-key.service.ts";
import { createAuditLog, type AuditLog } from "../modules/audit/audit.service.ts";
import { createOverlaysService, type OverlaysService } from "../modules/overlays/overlays.service.ts";
import { createQuotasService, type QuotasService } from "../modules/quotas/quotas.service.ts";
import { emptyTrash } from "../modules/tenants/tenant-dirs.ts";
import { createTenantsService, type TenantsService } from "../modules/tenants/tenants.service.ts";
import { createTokensService, type TokensService } from "../modules/tokens/tokens.service.ts";
import { createChatService } from "../modules/chat/chat.service.ts";
import { createProviderIdentity } from "../modules/chat/provider-identity.ts";
import { loadGatewaySecret } from "./gateway-secret.ts";
import { createModelsService, type ModelsService } from "../modules/models/models.service.ts";
import { createProvidersService } from "../modules/providers/providers.service.ts";
import { createQuotaEngine, type QuotaEngine } from "../modules/quotas/quota-engine.ts";
import { createLedger, type Ledger } from "../modules/usage/ledger.ts";
import { createUsageService, type UsageService } from "../modules/usage/usage.service.ts";
import { createSandboxService, type SandboxService } from "../modules/sandbox/sandbox.service.ts";
import { sandboxIdentity } from "../modules/sandbox/host.ts";
import { createDiskGuard, type DiskGuard } from "../modules/sandbox/disk.ts";
import { createFilesService, type FilesService } from "../modules/files/files.service.ts";
import { createBackupService, type BackupService } from "../modules/backup/backup.service.ts";
import { createMetrics, type Metrics } from "../modules/metrics/metrics.ts";
import { systemClock, type Clock } from "./clock.ts";
import { createLogger, type Logger } from "./logger.ts";
import { VERSION } from "../version.ts";
import { API_HEADERS } from "../http/security-headers.ts";

export interface CoreOptions {
  home?: string;
  env?: Environment;
  overrides?: ConfigOverrides;
  clock?: Clock;
  log?: Logger;
}

export interface Core {
  readonly version: string;
  readonly env: Environment;
  readonly home: string;
  readonly configFile: string;
  readonly config: GatewayConfig;
  readonly loaded: LoadedConfig;
  readonly clock: Clock;
  readonly log: Logger;
  readonly handle: DbHandle;
  readonly audit: AuditLog;
  readonly tokens: TokensService;
  readonly quotas: QuotasService;
  readonly tenants: TenantsService;
  readonly overlays: OverlaysService;
  readonly models: ModelsService;
  readonly ledger: Ledger;
  readonly usage: UsageService;
  readonly quotaEngine: QuotaEngine;
  readonly chat: ReturnType<typeof createChatService>;
  readonly sandbox: SandboxService;
  /** Per-tenant disk limits and the gateway's disk reserve. */
  readonly disk: DiskGuard;
  readonly files: FilesService;
  readonly backups: BackupService;
  readonly metrics: Metrics;
  readonly startedAt: number;
  /** Limits, where they come from, today's usage and what remains. */
  quotaStatus(tenantId: string): ReturnType<QuotasService["status"]> & { usage: ReturnType<QuotaEngine["snapshot"]> };
  /** Admin-key digests accepted now (config hash + OPENCLAW_ADMIN_KEY). */
  adminDigests(): Buffer[];
  /** Re-reads openclaw.json; on error keeps the running config and throws. */
  reloadConfig(): void;
  close(): void;
}

export function createCore(opts: CoreOptions = {}): Core {
  const env = opts.env ?? readEnvironment();
  const home = path.resolve(opts.home ?? env.home);
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger();
  const dir = ensurePrivateDir(home);
  if (dir.tightened) log.warn(`tightened permissions of ${home} to 0700`);

  let loaded = loadGatewayConfig(home, env, opts.overrides);
  // The config may hold secrets: keep it private like everything else in the home.
  const cfgStat = fs.statSync(loaded.file, { throwIfNoEntry: false });
  if (cfgStat && cfgStat.mode & 0o077) {
    fs.chmodSync(loaded.file, 0o600);
    log.warn(`tightened permissions of ${loaded.file} to 0600`);
  }
  const handle = openDatabase(path.join(home, "state.db"));
  const getConfig = () => loaded.config;

  const auditFile = path.resolve(home, loaded.config.audit.path);
  fs.mkdirSync(path.dirname(auditFile), { recursive: true, mode: 0o700 });
  const generation = openGeneration(home);
  const metrics = createMetrics();
  const audit = createAuditLog({
    handle,
    file: auditFile,
    clock,
    log: log.withTag("audit"),
    replayWindowMs: loaded.config.audit.copytruncateReplaySeconds * 1000,
    onCommit: generation.bump,
    onRecord: metrics.auditRecord,
  });
  const changes = createChangeTracker(handle.sqlite, generation, audit.generation);
  const tokens = createTokensService({ db: handle.db, clock, changes });
  const quotas = createQuotasService({ db: handle.db, clock, config: getConfig, changes });
  // The quota engine is built from services that need the tenants service first; it learns of deletes late-bound.
  let quotaEngineRef: QuotaEngine | null = null;
  const tenants = createTenantsService({ db: handle.db, home, clock, log: log.withTag("tenants"), audit, tokens, quotas, changes, onRemoved: (id) => quotaEngineRef?.forget(id) });
  const overlays = createOverlaysService({ home, audit, config: getConfig, log: log.withTag("overlays") });
  const ledger = createLedger({ handle, clock, log: log.withTag("usage"), incarnationOf: tenants.incarnation });
  const usage = createUsageService({ handle, ledger, clock, incarnationOf: tenants.incarnation });
  const quotaEngine = createQuotaEngine({
    clock,
    limits: (t) => quotas.view(t).limits,
    usedOn: usage.usedOn,
    incarnation: tenants.incarnation,
    observe: { refused: metrics.quotaRefusal, settled: metrics.llmTokens },
  });
  quotaEngineRef = quotaEngine;
  const models = createModelsService({ config: getConfig, overlays });
  const providers = createProvidersService({ config: getConfig });
  let gatewaySecret: Buffer | undefined;
  const chat = createChatService({
    clock,
    log: log.withTag("chat"),
    models,
    overlays,
    providers,
    quotas: quotaEngine,
    ledger,
    keepAliveMs: () => loaded.config.gateway.limits.streamKeepAliveSeconds * 1000,
    responseHeaders: API_HEADERS,
    // Read (or made) on the first routed request, so CLI commands never create it.
    identity: createProviderIdentity(() => (gatewaySecret ??= loadGatewaySecret(home)), tenants.incarnation),
  });
  const disk = createDiskGuard({ home, config: getConfig, overlays, log: log.withTag("disk"), stateFiles: [home, path.dirname(auditFile)] });
  const sandbox = createSandboxService({ home, config: getConfig, overlays, tenants, handle, clock, log: log.withTag("sandbox"), metrics, disk });
  // What a tenant runs ends when it is suspended, deleted, replaced by a restore, or the token that
  // started it stops working. Later features with running work register here too.
  tenants.onTenantStopped(sandbox.endTenantWork);
  const files = createFilesService({ home, identity: sandboxIdentity, disk });
  const backups = createBackupService({ home, version: VERSION, schemaVersion: handle.schemaVersion, config: getConfig, handle, audit, tenants, tokens, quotaEngine, ledger, clock, log: log.withTag("backup"), metrics, disk });
  emptyTrash(home);

  let adminCache: { hash: string | undefined; digests: Buffer[] } | null = null;
  const fileStamp = () => {
    const st = fs.statSync(loaded.file, { throwIfNoEntry: false });
    return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : "missing";
  };
  let loadedStamp = fileStamp();

  return {
    version: VERSION,
    env,
    home,
    configFile: loaded.file,
    get config() {
      return loaded.config;
    },
    get loaded() {
      return loaded;
    },
    clock,
    log,
    handle,
    audit,
    tokens,
    quotas,
    tenants,
    overlays,
    models,
    ledger,
    usage,
    quotaEngine,
    chat,
    sandbox,
    disk,
    files,
    backups,
    metrics,
    startedAt: clock.now(),
    quotaStatus(tenantId: string) {
      return { ...quotas.status(tenantId), usage: quotaEngine.snapshot(tenantId) };
    },
    adminDigests() {
      // An admin key rotated by the CLI must work on the very next admin request: if openclaw.json
      // changed since it was loaded, reload it now (a stat per admin request; the watcher may lag).
      if (fileStamp() !== loadedStamp) {
        try {
          this.reloadConfig();
        } catch (err) {
          log.error("openclaw.json changed but does not load; keeping the running config", { error: err instanceof Error ? err.message : String(err) });
          loadedStamp = fileStamp();
        }
      }
      const hash = loaded.config.controlPlane.apiKeyHash;
      if (!adminCache || adminCache.hash !== hash) adminCache = { hash, digests: acceptedAdminDigests(hash, env.adminKey) };
      return adminCache.digests;
    },
    reloadConfig() {
      const stamp = fileStamp();
      const next = loadGatewayConfig(home, env, opts.overrides);
      loadedStamp = stamp;
      if (path.resolve(home, next.config.audit.path) !== auditFile) {
        log.warn("audit.path changed; the new path takes effect at the next restart");
      }
      loaded = next;
    },
    close() {
      disk.close();
      ledger.close();
      handle.close();
    },
  };
}
