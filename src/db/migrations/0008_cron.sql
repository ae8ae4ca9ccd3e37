CREATE TABLE `cron_jobs` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`enabled` integer NOT NULL,
	`schedule` text NOT NULL,
	`payload` text NOT NULL,
	`delivery` text NOT NULL,
	`webhook_secret` text,
	`delete_after_run` integer DEFAULT 0 NOT NULL,
	`catch_up` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`next_run_at` integer,
	`wake_at` integer,
	`last_run_at` integer,
	`last_status` text,
	`last_error` text,
	`last_duration_ms` integer,
	`consecutive_errors` integer DEFAULT 0 NOT NULL,
	`disabled_reason` text,
	PRIMARY KEY(`tenant_id`, `id`)
);
--> statement-breakpoint
CREATE INDEX `cron_jobs_wake_idx` ON `cron_jobs` (`wake_at`) WHERE "cron_jobs"."wake_at" IS NOT NULL;--> statement-breakpoint
CREATE TABLE `cron_runs` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`job_id` text NOT NULL,
	`scheduled_at` integer NOT NULL,
	`trigger` text NOT NULL,
	`status` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`error` text,
	`run_ref` text,
	`output` text,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cost_micro_usd` integer DEFAULT 0 NOT NULL,
	`delivery_status` text,
	`delivery_error` text,
	PRIMARY KEY(`tenant_id`, `id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cron_runs_once_idx` ON `cron_runs` (`tenant_id`,`job_id`,`scheduled_at`) WHERE "cron_runs"."trigger" != 'manual';--> statement-breakpoint
CREATE INDEX `cron_runs_job_idx` ON `cron_runs` (`tenant_id`,`job_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `cron_runs_tenant_idx` ON `cron_runs` (`tenant_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `cron_runs_running_idx` ON `cron_runs` (`status`) WHERE "cron_runs"."status" = 'running';