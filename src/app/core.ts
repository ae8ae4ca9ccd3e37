// createCore: the composition root. Opens the state directory (config, database), builds every module
// of src/app/modules.ts in order — each given the platform and the services of the modules it needs —
// and offers their services, by name, to the HTTP layer, the CLI and tests. Wiring only.
import fs from "node:fs";
import path from "node:path";
import { readEnvironment, type Environment } from "../config/env.ts";
import { requireResolved } from "../config/env-refs.ts";
import { loadGatewayConfig, type ConfigOverrides, type LoadedConfig } from "../config/load.ts";
import type { GatewayConfig } from "../config/schema.ts";
import { systemClock, type Clock } from "../core/clock.ts";
import { createLogger, type Logger } from "../core/logger.ts";
import { systemTimers, type Timers } from "../core/timers.ts";
import { createChangeTracker, openGeneration } from "../db/change-tracker.ts";
import { openDatabase, type DbHandle } from "../db/client.ts";
import { ensurePrivateDir, fileStamp } from "../lib/fs-durable.ts";
import { VERSION } from "../lib/version.ts";
import type { AnyModule, Platform, TenantDataRegistry } from "../modules/module.ts";
import { MODULES, type Services } from "./modules.ts";
import { collectTenantData } from "./tenant-data.ts";

export interface CoreOptions {
  home?: string;
  env?: Environment;
  overrides?: ConfigOverrides;
  clock?: Clock;
  /** One-shot timers on that clock (tests: ManualTimers with a ManualClock). */
  timers?: Timers;
  log?: Logger;
  /** Modules built after the standard list (tests: a feature that does not exist yet). */
  extraModules?: readonly AnyModule[];
}

export interface CoreBase {
  readonly version: string;
  readonly env: Environment;
  readonly home: string;
  readonly configFile: string;
  readonly config: GatewayConfig;
  readonly loaded: LoadedConfig;
  readonly clock: Clock;
  readonly log: Logger;
  readonly handle: DbHandle;
  readonly startedAt: number;
  /** The modules this core was built from, in order. */
  readonly modules: readonly AnyModule[];
  /** Every module's tenant tables and directories, and their hooks. */
  readonly tenantData: TenantDataRegistry;
  /** A module's services together with those of the modules it needs (what its routes and commands get). */
  servicesOf<S extends object>(m: AnyModule & { create(...args: never[]): S }): S & Record<string, unknown>;
  /** Admin-key digests accepted now (config hash + OPENCLAW_ADMIN_KEY). */
  adminDigests(): Buffer[];
  /** Re-reads openclaw.json; on error keeps the running config and throws. */
  reloadConfig(): void;
  /**
   * For a process that uses every part of the config (the serving gateway): refuses now if a ${NAME}
   * it references is not set, and every later reload that would leave one unresolved. Commands that
   * use only some of it ask for their part (`requireResolved`, config/env-refs.ts).
   */
  requireAllSecrets(): void;
  close(): void;
}

export type Core = CoreBase & Services;

export function createCore(opts: CoreOptions = {}): Core {
  const env = opts.env ?? readEnvironment();
  const home = path.resolve(opts.home ?? env.home);
  const clock = opts.clock ?? systemClock;
  const timers = opts.timers ?? systemTimers;
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
  const generation = openGeneration(home);
  // Bumped after every commit made in this process, so its caches can tell at once.
  let localCommits = 0;
  const changes = createChangeTracker(handle.sqlite, generation, () => localCommits);
  const startedAt = clock.now();

  const modules: readonly AnyModule[] = [...MODULES, ...(opts.extraModules ?? [])];
  const tenantData = collectTenantData(modules);
  const own = new Map<AnyModule, object>();
  const views = new Map<AnyModule, object>();
  const services: Record<string, unknown> = {};
  for (const m of modules) {
    const deps: Record<string, unknown> = {};
    for (const need of m.needs ?? []) {
      const built = own.get(need);
      if (!built) throw new Error(`module ${m.name} needs ${need.name}, which is not before it in the module list`);
      Object.assign(deps, built);
    }
    const platform: Platform = {
      version: VERSION,
      home,
      env,
      config: () => loaded.config,
      configFile: loaded.file,
      clock,
      timers,
      startedAt,
      log: log.withTag(m.name),
      handle,
      changes,
      committed: () => {
        localCommits++;
        generation.bump();
      },
      tenantData,
    };
    const svc = m.create(platform, deps as never);
    for (const name of Object.keys(svc)) {
      if (name in services) throw new Error(`module ${m.name} offers a service "${name}" that another module already offers`);
    }
    Object.assign(services, svc);
    own.set(m, svc);
    views.set(m, { ...deps, ...svc });
  }
  const servicesOf = (m: AnyModule) => {
    const v = views.get(m);
    if (!v) throw new Error(`module ${m.name} is not in this core`);
    return v;
  };
  tenantData.bind(servicesOf);

  let loadedStamp = fileStamp(loaded.file) ?? "missing";
  let allSecretsRequired = false;
  const core: CoreBase = {
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
    startedAt,
    modules,
    tenantData,
    servicesOf: servicesOf as CoreBase["servicesOf"],
    adminDigests() {
      // An admin key rotated by the CLI must work on the very next admin request: if openclaw.json
      // changed since it was loaded, reload it now (a stat per admin request; the watcher may lag).
      if ((fileStamp(loaded.file) ?? "missing") !== loadedStamp) {
        try {
          this.reloadConfig();
        } catch (err) {
          log.error("openclaw.json changed but does not load; keeping the running config", { error: err instanceof Error ? err.message : String(err) });
          loadedStamp = fileStamp(loaded.file) ?? "missing";
        }
      }
      return (services as unknown as Services).adminKey.digests();
    },
    reloadConfig() {
      const stamp = fileStamp(loaded.file) ?? "missing";
      const next = loadGatewayConfig(home, env, opts.overrides);
      loadedStamp = stamp;
      if (allSecretsRequired) requireResolved(next.config);
      if (path.resolve(home, next.config.audit.path) !== (services as unknown as Services).audit.file) {
        log.warn("audit.path changed; the new path takes effect at the next restart");
      }
      loaded = next;
    },
    requireAllSecrets() {
      requireResolved(loaded.config);
      allSecretsRequired = true;
    },
    close() {
      for (const m of [...modules].reverse()) m.close?.(servicesOf(m));
      handle.close();
    },
  };
  // The services sit beside the core's own fields; no module may take one of their names.
  for (const name of Object.keys(services)) if (name in core) throw new Error(`a module's service is named "${name}", which the core itself uses`);
  return Object.defineProperties(core, Object.getOwnPropertyDescriptors(services)) as Core;
}
