CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`display_name` text,
	`status` text DEFAULT 'active' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`suspended_at` integer
);
--> statement-breakpoint
CREATE TABLE `tenant_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`hash` blob NOT NULL,
	`display_prefix` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `tenant_tokens_tenant_idx` ON `tenant_tokens` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `tenant_quotas` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`tokens_per_day` integer,
	`cost_per_day_micro_usd` integer,
	`requests_per_minute` integer,
	`max_concurrent` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `audit_events` (
	`seq` integer PRIMARY KEY NOT NULL,
	`ts` integer NOT NULL,
	`hash` text NOT NULL,
	`action` text NOT NULL,
	`actor_kind` text NOT NULL,
	`actor_id` text NOT NULL,
	`tenant_id` text,
	`target_type` text,
	`target_id` text,
	`outcome` text NOT NULL,
	`request_id` text NOT NULL,
	`line` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_events_ts_idx` ON `audit_events` (`ts`);--> statement-breakpoint
CREATE INDEX `audit_events_tenant_idx` ON `audit_events` (`tenant_id`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_events_action_idx` ON `audit_events` (`action`,`seq`);--> statement-breakpoint
CREATE TABLE `audit_file` (
	`id` integer PRIMARY KEY NOT NULL,
	`path` text NOT NULL,
	`dev` integer NOT NULL,
	`ino` integer NOT NULL,
	`size` integer NOT NULL,
	`updated_at` integer NOT NULL
);
