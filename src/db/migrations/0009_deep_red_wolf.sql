CREATE TABLE `ext_packages` (
	`tenant_id` text NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`enabled` integer DEFAULT 1 NOT NULL,
	`installed_at` integer,
	`installed_by` text,
	`sha256` text,
	`bytes` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `kind`, `name`)
);
