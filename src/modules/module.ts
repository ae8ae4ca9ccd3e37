// The feature-module contract. A feature is one folder, src/modules/<feature>/, whose
// <feature>.module.ts exports one `defineModule({...})`, and one line in src/app/modules.ts. From that
// static list the composition root builds each module's services in order (a module names the
// modules whose services it uses; they come before it), the server mounts its routes and RPC methods,
// the CLI merges its commands, backups carry its tenant tables and directories, deleting a tenant
// deletes its rows, and the gateway starts and stops its background work. No registry at run time,
// no dynamic loading: `bun build --compile` follows the imports.
import type { AnyElysia } from "elysia";
import type { Environment } from "../config/env.ts";
import type { GatewayConfig } from "../config/schema.ts";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import type { Timers } from "../core/timers.ts";
import type { ChangeTracker } from "../db/change-tracker.ts";
import type { DbHandle } from "../db/client.ts";
import type { TenantTable } from "../db/tenant-rows.ts";
import type { MethodDef } from "../edge/rpc.ts";
import type { TenantScope } from "../edge/tenant-scope.ts";
import type { CliTree } from "./module-cli.ts";

/** What every module is given: the state directory, the config, the database, the clock, a logger. */
export interface Platform {
  readonly version: string;
  readonly home: string;
  readonly env: Environment;
  /** The gateway config in force (a reload replaces it: read it when needed, do not keep it). */
  config(): GatewayConfig;
  readonly configFile: string;
  readonly clock: Clock;
  /** One-shot timers on `clock` (a sleeper takes these, never setTimeout, so tests drive it by hand). */
  readonly timers: Timers;
  /** When this core was made (the gateway's start, for a running gateway). */
  readonly startedAt: number;
  /** Tagged with the module's name. */
  readonly log: Logger;
  readonly handle: DbHandle;
  /** Whether state.db may have changed, in any process, since a cache was filled. */
  readonly changes: ChangeTracker;
  /** Tells every process's caches that a change committed (the audit log calls it after each one). */
  committed(): void;
  /** Every module's tenant tables and directories, and their hooks (see TenantData). */
  readonly tenantData: TenantDataRegistry;
}

/** What a module keeps per tenant. Declared here, it is backed up, restored and deleted with the tenant. */
export interface TenantData<S> {
  /** Tables with a tenant column (db/tenant-rows.ts says what each option means). */
  tables?: readonly TenantTable[];
  /** Directories under tenants/<id>/: made with the tenant, carried by its backups, wiped with it. */
  dirs?: readonly string[];
  /** Before a backup reads the tenant's rows (write out what is still buffered). */
  beforeBackup?(svc: S, tenant: TenantScope): void;
  /** After the tenant's delete committed: forget what is kept about it in memory. */
  onDelete?(svc: S, tenant: TenantScope): void;
  /** After a restore of the tenant committed: its rows and directory were replaced. */
  onRestore?(svc: S, tenant: TenantScope): void;
  /**
   * The tenant stopped — suspended, deleted, replaced by a restore, or a token of its stopped working
   * (in this process or, for live work the tenants service watches, in another): end what the module
   * runs for that incarnation. A returned promise settles once that work has really ended (a delete
   * wipes the tenant's directory only then).
   */
  onStop?(svc: S, stop: TenantStop): void | null | Promise<unknown>;
}

export type TenantStopReason = "suspended" | "deleted" | "replaced" | "token-revoked";

/** A tenant incarnation whose running work must end (TenantData.onStop). */
export interface TenantStop {
  tenantId: string;
  /** The incarnation whose work ends (a tenant created again under the id is not touched). */
  incarnation: string;
  reason: TenantStopReason;
  /** With "token-revoked": the tokens (actor ids, "tok:…") that stopped working. */
  tokens?: string[];
}

/** The tenant data of every module, in list order, with the hooks bound to their services. */
export interface TenantDataRegistry {
  readonly tables: readonly TenantTable[];
  readonly dirs: readonly string[];
  beforeBackup(tenant: TenantScope): void;
  deleted(tenant: TenantScope): void;
  restored(tenant: TenantScope): void;
  /** Every module's onStop, in list order; settles when all the work they ended has ended (null: none had any). */
  stopped(stop: TenantStop): Promise<void> | null;
}

/** A page of the web console: which face shows it (a tenant's or the operator's), its title and place in the menu. */
export interface PageMeta {
  id: string;
  title: string;
  face: "tenant" | "operator";
  order: number;
}

/** Background work of a running gateway (not of CLI commands): started in list order, stopped in reverse. */
export interface Running {
  stop(): Promise<void>;
}

export interface ModuleDef<Name extends string = string, Needs extends readonly AnyModule[] = readonly AnyModule[], S extends object = object> {
  name: Name;
  /** The modules whose services this one uses; each comes before it in src/app/modules.ts. */
  needs?: Needs;
  /** Builds the module's services (an object of named services, merged into the core). */
  create(platform: Platform, deps: ServicesOf<Needs>): S;
  // Everything below is given the module's services together with those of the modules it needs.
  /** Control-plane routes, mounted under /admin/v1 behind the admin key. */
  admin?(svc: Uses<Needs, S>): AnyElysia;
  /** Tenant HTTP routes (the OpenAI-compatible /v1 surface), behind tenant tokens. */
  routes?(svc: Uses<Needs, S>): AnyElysia;
  /** Tenant WebSocket routes, mounted under /ws behind tenant tokens. */
  ws?(svc: Uses<Needs, S>): AnyElysia;
  /** Tenant JSON-RPC methods (edge/rpc.ts: defineTenantMethod). */
  rpc?(svc: Uses<Needs, S>): MethodDef<any>[];
  /** Web console pages this module adds (the page itself is its `<name>.page.tsx`; see modules/console). */
  console?: { pages: readonly PageMeta[] };
  /** CLI commands, merged into the `openclaw` command tree by name. */
  cli?: CliTree<Uses<Needs, S>>;
  tenantData?: TenantData<Uses<Needs, S>>;
  /** Starts the module's background work in a running gateway. */
  start?(svc: Uses<Needs, S>): Running | void;
  /** Releases what `create` opened (threads, timers); CLI commands and the gateway alike. */
  close?(svc: Uses<Needs, S>): void;
}

/** A module's own services and those of the modules it needs. */
export type Uses<Needs extends readonly AnyModule[], S> = S & ServicesOf<Needs>;

/** Any module (the list is heterogeneous: each has its own services). */
export type AnyModule = ModuleDef<string, readonly any[], any>;

type SvcOf<M> = M extends ModuleDef<string, readonly any[], infer S> ? S : never;
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** The services of a list of modules, merged by name (`{ tenants, tokens } & { audit }` …). */
export type ServicesOf<M extends readonly AnyModule[]> = [M[number]] extends [never] ? {} : UnionToIntersection<SvcOf<M[number]>>;

/** What a module plugs in, given its services (and those of the modules it needs). */
export type ModuleParts<Needs extends readonly AnyModule[], S extends object> = Omit<ModuleDef<string, Needs, S>, "name" | "needs" | "create">;

/**
 * `defineModule({ name, needs, create }).with({ admin, routes, ws, rpc, cli, console, tenantData, start, close })`.
 * In two steps so that the services `create` returns are known (inferred) before the parts that use
 * them are checked against them.
 */
export function defineModule<const Name extends string, const Needs extends readonly AnyModule[] = readonly [], S extends object = object>(
  def: Pick<ModuleDef<Name, Needs, S>, "name" | "needs" | "create">,
): ModuleDef<Name, Needs, S> & { with(parts: ModuleParts<Needs, S>): ModuleDef<Name, Needs, S> } {
  return { ...def, with: (parts) => ({ ...def, ...parts }) };
}
