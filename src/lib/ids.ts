// Tenant IDs and request IDs.
export const TENANT_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
export const RESERVED_TENANT_IDS: ReadonlySet<string> = new Set(["admin", "system", "root", "default", "all"]);

export type TenantIdProblem = "empty" | "too_long" | "invalid" | "reserved";

export function checkTenantId(id: string): TenantIdProblem | null {
  if (id.length === 0) return "empty";
  if (id.length > 32) return "too_long";
  if (!TENANT_ID_PATTERN.test(id)) return "invalid";
  if (RESERVED_TENANT_IDS.has(id)) return "reserved";
  return null;
}

export function describeTenantIdProblem(id: string, problem: TenantIdProblem): string {
  switch (problem) {
    case "empty":
      return "tenant id is empty";
    case "too_long":
      return `tenant id "${id.slice(0, 40)}…" is longer than 32 characters`;
    case "reserved":
      return `tenant id "${id}" is reserved (reserved: ${[...RESERVED_TENANT_IDS].join(", ")})`;
    case "invalid":
      return `tenant id ${JSON.stringify(id)} is invalid: use 1-32 lowercase letters, digits and inner hyphens (e.g. acme, team-42)`;
  }
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

export function newRequestId(): string {
  return `req_${crypto.randomUUID().replaceAll("-", "")}`;
}

/**
 * A client's own `x-request-id`, kept beside ours only when it is short and plain (anything else is
 * dropped). It is never used as the gateway's request id: that one is always ours, so a record's
 * `requestId` cannot be chosen, repeated or made to collide by a client.
 */
export function clientRequestId(candidate: string | null | undefined): string | undefined {
  return candidate && REQUEST_ID_PATTERN.test(candidate) ? candidate : undefined;
}

/** A tenant incarnation: 64 random bits as 16 lowercase hex digits (the form the 0004 migration mints too). */
export function newIncarnation(): string {
  return crypto.getRandomValues(Buffer.alloc(8)).toString("hex");
}

export const INCARNATION_PATTERN = /^[0-9a-f]{16}$/;
