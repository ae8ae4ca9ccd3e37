CREATE TABLE `usage_daily` (
	`tenant_id` text NOT NULL,
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
	PRIMARY KEY(`tenant_id`, `day`, `model`)
);
--> statement-breakpoint
CREATE INDEX `usage_daily_day_idx` ON `usage_daily` (`day`);--> statement-breakpoint
CREATE TABLE `usage_ledger` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`request_id` text NOT NULL,
	`model` text NOT NULL,
	`provider` text NOT NULL,
	`upstream_model` text NOT NULL,
	`stream` integer NOT NULL,
	`status` text NOT NULL,
	`http_status` integer,
	`error_code` text,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cache_read_tokens` integer DEFAULT 0 NOT NULL,
	`cache_write_tokens` integer DEFAULT 0 NOT NULL,
	`reasoning_tokens` integer DEFAULT 0 NOT NULL,
	`total_tokens` integer DEFAULT 0 NOT NULL,
	`cost_micro_usd` integer DEFAULT 0 NOT NULL,
	`reserved_tokens` integer NOT NULL,
	`reserved_micro_usd` integer NOT NULL,
	`input_bound` integer NOT NULL,
	`rates` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`latency_ms` integer,
	`ttfb_ms` integer
);
--> statement-breakpoint
CREATE INDEX `usage_ledger_tenant_time_idx` ON `usage_ledger` (`tenant_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `usage_ledger_in_flight_idx` ON `usage_ledger` (`status`) WHERE "usage_ledger"."status" = 'in_flight';