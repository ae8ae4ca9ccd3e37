-- Agents: sessions (the index over tenants/<id>/sessions/*.jsonl) and runs; ledger rows of agent runs carry their session key and run id.
CREATE TABLE `agent_runs` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`session_key` text NOT NULL,
	`session_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`idempotency_key` text,
	`status` text NOT NULL,
	`stop_reason` text,
	`error_code` text,
	`error_message` text,
	`text` text,
	`steps` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cost_micro_usd` integer DEFAULT 0 NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	PRIMARY KEY(`tenant_id`, `id`)
);
--> statement-breakpoint
CREATE INDEX `agent_runs_idem_idx` ON `agent_runs` (`tenant_id`,`session_key`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `agent_runs_status_idx` ON `agent_runs` (`status`);--> statement-breakpoint
CREATE TABLE `agent_sessions` (
	`tenant_id` text NOT NULL,
	`key` text NOT NULL,
	`session_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`entries` integer DEFAULT 0 NOT NULL,
	`bytes` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`cost_micro_usd` integer DEFAULT 0 NOT NULL,
	`runs` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `agent_sessions_updated_idx` ON `agent_sessions` (`tenant_id`,`updated_at`);--> statement-breakpoint
ALTER TABLE `usage_ledger` ADD `session_key` text;--> statement-breakpoint
ALTER TABLE `usage_ledger` ADD `run_id` text;