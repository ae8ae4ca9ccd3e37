CREATE TABLE `channel_accounts` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`hook_id` text NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`options` text NOT NULL,
	`secrets_enc` text NOT NULL,
	`masked` text NOT NULL,
	`facts` text NOT NULL,
	`status` text NOT NULL,
	`last_error` text,
	`poll_offset` integer,
	`highest_update` integer,
	`received` integer DEFAULT 0 NOT NULL,
	`replied` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`dropped` integer DEFAULT 0 NOT NULL,
	`replays` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `channel_accounts_hook_idx` ON `channel_accounts` (`hook_id`);--> statement-breakpoint
CREATE TABLE `channel_inbox` (
	`tenant_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`delivery_id` text NOT NULL,
	`peer_id` text NOT NULL,
	`chat_id` text NOT NULL,
	`thread_id` text,
	`session_key` text NOT NULL,
	`message` text,
	`reply_context` text,
	`run_id` text,
	`status` text NOT NULL,
	`error` text,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `channel_id`, `delivery_id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `channel_inbox_delivery_idx` ON `channel_inbox` (`channel_id`,`delivery_id`);--> statement-breakpoint
CREATE INDEX `channel_inbox_open_idx` ON `channel_inbox` (`status`) WHERE "channel_inbox"."status" IN ('queued', 'running');--> statement-breakpoint
CREATE INDEX `channel_inbox_age_idx` ON `channel_inbox` (`tenant_id`,`channel_id`,`received_at`);--> statement-breakpoint
CREATE TABLE `channel_peers` (
	`tenant_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`peer_id` text NOT NULL,
	`peer_name` text,
	`state` text NOT NULL,
	`code_hash` text,
	`expires_at` integer,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `channel_id`, `peer_id`)
);
