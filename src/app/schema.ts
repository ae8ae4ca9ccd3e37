// Every drizzle table, for drizzle-kit and for the schema test. Modules own their tables.
export * from "../modules/tenants/tenants.sql.ts";
export * from "../modules/tokens/tokens.sql.ts";
export * from "../modules/quotas/quotas.sql.ts";
export * from "../modules/audit/audit.sql.ts";
export * from "../modules/usage/usage.sql.ts";
export * from "../modules/sandbox/sandbox.sql.ts";
export * from "../modules/backup/backup.sql.ts";
