// Tenant tokens at rest: SHA-256 digests and display prefixes, never plaintext. Verification does the
// same work for every kind of failure and reports only ok / not ok to the edge.
import type { ChangeTracker } from "../../db/change-tracker.ts";
import { and, eq, lte, sql } from "drizzle-orm";
import type { Db } from "../../db/client.ts";
import type { Clock } from "../../core/clock.ts";
import { TenantTable } from "./tenants.sql.ts";
import { TenantTokenTable } from "./tokens.sql.ts";
import { ADMIN_KEY_ID, digestMatches, hashPrefix, mintToken, parseToken, sha256 } from "../../lib/token-format.ts";

export type VerifyResult =
  | { ok: true; tenantId: string; actorId: string }
  | { ok: false; reason: "malformed" | "checksum" | "unknown" | "suspended" | "mismatch"; tenantHint?: string };

export interface IssuedToken {
  token: string;
  displayPrefix: string;
  actorId: string;
}

interface CachedTenant {
  status: "active" | "suspended" | null;
  hashes: { hash: Buffer; expiresAt: number | null; actorId: string }[];
}

const CACHE_LIMIT = 50_000;

export function createTokensService(deps: { db: Db; clock: Clock; changes: ChangeTracker }) {
  const { db, clock } = deps;

  // Verification is on every request's path, so live digests are cached per tenant (unknown tenants
  // too, so a miss costs the same as a hit). The cache is dropped whenever any connection commits
  // (PRAGMA data_version, which a CLI rotation in another process bumps) or this process commits
  // (the audit log's local generation), so a rotation or suspension is honoured on the next request.
  const cache = new Map<string, CachedTenant>();
  let seen = "";

  function check(digest: ReturnType<typeof sha256>, parsed: ReturnType<typeof parseToken>): VerifyResult {
    if (!parsed.ok || parsed.id === ADMIN_KEY_ID) {
      digestMatches(digest, []);
      return { ok: false, reason: parsed.ok ? "malformed" : parsed.reason };
    }
    const entry = lookup(parsed.id);
    const now = clock.now();
    const live = entry.hashes.filter((h) => h.expiresAt === null || h.expiresAt > now);
    const match = digestMatches(
      digest,
      live.map((h) => h.hash),
    );
    if (entry.status === null) return { ok: false, reason: "unknown", tenantHint: parsed.id };
    if (match < 0) return { ok: false, reason: "mismatch", tenantHint: parsed.id };
    if (entry.status !== "active") return { ok: false, reason: "suspended", tenantHint: parsed.id };
    return { ok: true, tenantId: parsed.id, actorId: live[match]!.actorId };
  }

  function lookup(id: string): CachedTenant {
    const version = deps.changes.version();
    if (version !== seen || cache.size >= CACHE_LIMIT) {
      cache.clear();
      seen = version;
    }
    let entry = cache.get(id);
    if (!entry) {
      const rows = allTokens.all({ id });
      entry = {
        status: rows[0]?.status ?? null,
        hashes: rows.flatMap((r) => (r.hash ? [{ hash: r.hash, expiresAt: r.expiresAt, actorId: hashPrefix(r.hash, "tok") }] : [])),
      };
      cache.set(id, entry);
    }
    return entry;
  }

  const allTokens = db
    .select({ hash: TenantTokenTable.hash, expiresAt: TenantTokenTable.expiresAt, status: TenantTable.status })
    .from(TenantTable)
    .leftJoin(TenantTokenTable, eq(TenantTokenTable.tenantId, TenantTable.id))
    .where(eq(TenantTable.id, sql.placeholder("id")))
    .prepare();

  const tokensOf = db.select().from(TenantTokenTable).where(eq(TenantTokenTable.tenantId, sql.placeholder("id"))).prepare();

  function insert(tenantId: string): IssuedToken {
    const minted = mintToken(tenantId);
    db.insert(TenantTokenTable)
      .values({ tenantId, hash: minted.hash, displayPrefix: minted.displayPrefix, createdAt: clock.now(), expiresAt: null })
      .run();
    return { token: minted.token, displayPrefix: minted.displayPrefix, actorId: hashPrefix(minted.hash, "tok") };
  }

  return {
    /** Mints the first token of a new tenant. Call inside the tenant's create transaction. */
    issue(tenantId: string): IssuedToken {
      return insert(tenantId);
    },

    /**
     * Replaces the current token. With graceMs = 0 the old token stops working at once; otherwise it
     * keeps working until now + graceMs. A tenant has at most two live tokens — the new one and one in
     * grace — so a rotation with grace while another token is still in grace ends that one at once
     * (repeated rotations cannot pile up live tokens). Call inside an audited transaction.
     */
    rotate(tenantId: string, graceMs: number): IssuedToken & { previous: string[]; ended: string[] } {
      const now = clock.now();
      db.delete(TenantTokenTable)
        .where(and(eq(TenantTokenTable.tenantId, tenantId), lte(TenantTokenTable.expiresAt, now)))
        .run();
      // Newest first: the token being replaced is the one that may stay live in grace.
      const old = tokensOf.all({ id: tenantId }).sort((a, b) => b.id - a.id);
      const kept = graceMs > 0 ? old.slice(0, 1) : [];
      const ended = graceMs > 0 ? old.slice(1) : old;
      for (const row of ended) db.delete(TenantTokenTable).where(eq(TenantTokenTable.id, row.id)).run();
      for (const row of kept) {
        const until = now + graceMs;
        const expiresAt = row.expiresAt === null ? until : Math.min(row.expiresAt, until);
        db.update(TenantTokenTable).set({ expiresAt }).where(eq(TenantTokenTable.id, row.id)).run();
      }
      const issued = insert(tenantId);
      return { ...issued, previous: old.map((r) => hashPrefix(r.hash, "tok")), ended: ended.map((r) => hashPrefix(r.hash, "tok")) };
    },

    /** How many token hashes the tenant has (live or not). */
    count(tenantId: string): number {
      return tokensOf.all({ id: tenantId }).length;
    },

    /** Whether the token with this actor id ("tok:…") still works (not revoked, not past its grace). */
    isLive(tenantId: string, actorId: string): boolean {
      const now = clock.now();
      return lookup(tenantId).hashes.some((h) => h.actorId === actorId && (h.expiresAt === null || h.expiresAt > now));
    },

    /** Whether the token with this actor id is the tenant's current one (not rotated away, not even into a grace period). */
    isCurrent(tenantId: string, actorId: string): boolean {
      return lookup(tenantId).hashes.some((h) => h.actorId === actorId && h.expiresAt === null);
    },

    /** Display prefix and creation time of the current token; grace-window tokens listed separately. */
    describe(tenantId: string): { current: { displayPrefix: string; createdAt: number } | null; inGrace: { displayPrefix: string; expiresAt: number }[] } {
      const now = clock.now();
      const rows = tokensOf.all({ id: tenantId });
      const cur = rows.find((r) => r.expiresAt === null);
      return {
        current: cur ? { displayPrefix: cur.displayPrefix, createdAt: cur.createdAt } : null,
        inGrace: rows
          .filter((r) => r.expiresAt !== null && r.expiresAt > now)
          .map((r) => ({ displayPrefix: r.displayPrefix, expiresAt: r.expiresAt! })),
      };
    },

    /**
     * parse → checksum → tenant lookup → SHA-256 → constant-time compare against the live digests.
     * Every failure hashes and compares too, so the kinds of failure cost about the same.
     */
    verify(token: string): VerifyResult {
      return check(sha256(token), parseToken(token));
    },

    /**
     * A re-check of one token, as `verify` answers it at each call, with its hash and parse done once:
     * a request's identity is re-checked before each long step (each stream item), and hashing the
     * token each time was most of that check's cost.
     */
    verifier(token: string): () => VerifyResult {
      const digest = sha256(token);
      const parsed = parseToken(token);
      return () => check(digest, parsed);
    },
  };
}

export type TokensService = ReturnType<typeof createTokensService>;
