CREATE TABLE `sandbox_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`mode` text NOT NULL,
	`runtime` text,
	`origin` text NOT NULL,
	`started_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`exit_code` integer,
	`signal` text,
	`timed_out` integer DEFAULT false NOT NULL,
	`cpu_ms` integer,
	`memory_peak_bytes` integer,
	`egress_allowed` integer DEFAULT 0 NOT NULL,
	`egress_refused` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sandbox_runs_tenant_time_idx` ON `sandbox_runs` (`tenant_id`,`started_at`);