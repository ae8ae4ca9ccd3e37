// Who is acting: the authenticated actor of a request or a CLI invocation, as audit records name it,
// and the context a service is told it acts in.
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
