CREATE TABLE `backups` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`location` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`sha256` text NOT NULL,
	`encrypted` integer NOT NULL,
	`files` integer NOT NULL,
	`content_bytes` integer NOT NULL,
	`format_version` integer NOT NULL,
	`gateway_version` text NOT NULL,
	`origin` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `backups_tenant_time_idx` ON `backups` (`tenant_id`,`created_at`);