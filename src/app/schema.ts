// Every drizzle table, for drizzle-kit and for the schema test. Modules own their tables.
export * from "../modules/tenants/tenants.sql.ts";
export * from "../modules/tenants/tokens.sql.ts";
export * from "../modules/tenants/quota-limits.sql.ts";
export * from "../modules/audit/audit.sql.ts";
export * from "../modules/usage/usage.sql.ts";
export * from "../modules/sandbox/sandbox.sql.ts";
export * from "../modules/backup/backup.sql.ts";
export * from "../modules/agents/agents.sql.ts";
export * from "../modules/responses/responses.sql.ts";
export * from "../modules/cron/cron.sql.ts";
export * from "../modules/channels/channels.sql.ts";
export * from "../modules/skills/skills.sql.ts";
export * from "../modules/console/console.sql.ts";
