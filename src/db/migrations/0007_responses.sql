-- Stored responses of the OpenAI Responses API (POST /v1/responses), tenant-local, with a retention deadline.
CREATE TABLE `stored_responses` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`previous_id` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`bytes` integer NOT NULL,
	`response` text NOT NULL,
	`input_items` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`)
);
--> statement-breakpoint
CREATE INDEX `stored_responses_expiry_idx` ON `stored_responses` (`tenant_id`,`expires_at`);