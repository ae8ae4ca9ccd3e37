// Who is acting: the authenticated actor of a request or a CLI invocation, as audit records name it,
// and the context a service is told it acts in.
import type { TenantScope } from "./tenant-scope.ts";

export type ActorKind = "admin" | "tenant" | "operator" | "system";

export interface Actor {
  kind: ActorKind;
  /** admin-key or token hash prefix ("adm:…", "tok:…"), or the OS user for CLI use. */
  id: string;
}

/** Who is acting, for the audit record. */
export interface OpContext {
  actor: Actor;
  requestId: string;
  /** A client's own x-request-id (HTTP callers), recorded beside ours. */
  clientRequestId?: string;
  ip?: string;
}

/**
 * The operator (CLI) or an admin-key holder (control plane): it may name any tenant. `tenant(id)`
 * gives that tenant's scope, or NOT_FOUND when no tenant has the id. A tenant's own context never has
 * this: a tenant acts only within the scope its token established.
 */
export interface AdminContext extends OpContext {
  tenant(id: string): TenantScope;
}
