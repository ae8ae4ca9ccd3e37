-- Tenant incarnations: every tenant gets a random incarnation id, and the rows that outlive a tenant
-- (usage, sandbox runs, backup records) carry the incarnation they were written for, so a tenant that
-- reuses a deleted tenant's id never sees the previous owner's rows. Existing rows belong to the
-- current tenant of their id only if they are not older than it; older rows were a previous owner's
-- (a restore keeps the tenant's original created_at, and its rows are never older than that).
ALTER TABLE `tenants` ADD `incarnation` text DEFAULT '' NOT NULL;--> statement-breakpoint
UPDATE `tenants` SET `incarnation` = lower(hex(randomblob(8)));--> statement-breakpoint
ALTER TABLE `usage_ledger` ADD `incarnation` text DEFAULT '' NOT NULL;--> statement-breakpoint
UPDATE `usage_ledger` SET `incarnation` = coalesce((SELECT t.`incarnation` FROM `tenants` t WHERE t.`id` = `usage_ledger`.`tenant_id` AND `usage_ledger`.`started_at` >= t.`created_at`), '');--> statement-breakpoint
ALTER TABLE `sandbox_runs` ADD `incarnation` text DEFAULT '' NOT NULL;--> statement-breakpoint
UPDATE `sandbox_runs` SET `incarnation` = coalesce((SELECT t.`incarnation` FROM `tenants` t WHERE t.`id` = `sandbox_runs`.`tenant_id` AND `sandbox_runs`.`started_at` >= t.`created_at`), '');--> statement-breakpoint
ALTER TABLE `backups` ADD `incarnation` text DEFAULT '' NOT NULL;--> statement-breakpoint
UPDATE `backups` SET `incarnation` = coalesce((SELECT t.`incarnation` FROM `tenants` t WHERE t.`id` = `backups`.`tenant_id` AND `backups`.`created_at` >= t.`created_at`), '');--> statement-breakpoint
-- usage_daily gains the incarnation in its key: rebuilt from the ledger it sums (the ledger is never pruned).
CREATE TABLE `__new_usage_daily` (
	`tenant_id` text NOT NULL,
	`incarnation` text NOT NULL,
	`day` text NOT NULL,
	`model` text NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cache_read_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_tokens` integer DEFAULT 0 NOT NULL,
	`reasoning_tokens` integer DEFAULT 0 NOT NULL,
	`total_tokens` integer DEFAULT 0 NOT NULL,
	`cost_micro_usd` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `incarnation`, `day`, `model`)
);
--> statement-breakpoint
INSERT INTO `__new_usage_daily`("tenant_id", "incarnation", "day", "model", "requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "total_tokens", "cost_micro_usd")
  SELECT `tenant_id`, `incarnation`, strftime('%Y-%m-%d', `started_at` / 1000, 'unixepoch'), `model`, count(*), sum(`input_tokens`), sum(`output_tokens`), sum(`cache_read_tokens`),
         sum(`cache_write_tokens`), sum(`reasoning_tokens`), sum(`total_tokens`), sum(`cost_micro_usd`)
  FROM `usage_ledger` WHERE `status` != 'in_flight' GROUP BY 1, 2, 3, 4;--> statement-breakpoint
DROP TABLE `usage_daily`;--> statement-breakpoint
ALTER TABLE `__new_usage_daily` RENAME TO `usage_daily`;--> statement-breakpoint
CREATE INDEX `usage_daily_day_idx` ON `usage_daily` (`day`);
