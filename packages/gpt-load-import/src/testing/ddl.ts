/**
 * The tables GPT-Load 1.4.9's AutoMigrate creates (GORM v1.30 + glebarez/sqlite, gorm.io/driver/mysql,
 * gorm.io/driver/postgres), in execution order. SQLite is the exact text of a fresh database; MySQL and
 * PostgreSQL follow GORM's type mapping for the same models: uint → bigint unsigned / bigint, bool → boolean,
 * time → datetime(3) / timestamptz, datatypes.JSON(Map) → JSON / JSONB; MySQL declares indexes inside CREATE
 * TABLE, PostgreSQL creates them afterwards.
 */
export type FixtureDialect = 'sqlite' | 'mysql' | 'postgres';

/** request_logs' one-column indexes, in the order GORM creates them (reverse field order). */
const REQUEST_LOG_INDEXES = [
  'request_type',
  'model',
  'key_hash',
  'parent_group_name',
  'parent_group_id',
  'group_name',
  'group_id',
  'timestamp',
];

const SQLITE = [
  'CREATE TABLE `system_settings` (`id` integer PRIMARY KEY AUTOINCREMENT,`setting_key` varchar(255) NOT NULL,`setting_value` text NOT NULL,`description` varchar(512),`created_at` datetime,`updated_at` datetime,CONSTRAINT `uni_system_settings_setting_key` UNIQUE (`setting_key`))',
  'CREATE TABLE `groups` (`id` integer PRIMARY KEY AUTOINCREMENT,`name` varchar(255) NOT NULL,`display_name` varchar(255),`proxy_keys` text,`description` varchar(512),`group_type` varchar(50) DEFAULT "standard",`upstreams` JSON NOT NULL,`validation_endpoint` varchar(255),`channel_type` varchar(50) NOT NULL,`sort` integer DEFAULT 0,`test_model` varchar(255) NOT NULL,`param_overrides` JSON,`config` JSON,`header_rules` JSON,`model_redirect_rules` JSON,`model_redirect_strict` numeric DEFAULT false,`last_validated_at` datetime,`created_at` datetime,`updated_at` datetime,CONSTRAINT `uni_groups_name` UNIQUE (`name`))',
  'CREATE TABLE `group_sub_groups` (`id` integer PRIMARY KEY AUTOINCREMENT,`group_id` integer NOT NULL,`sub_group_id` integer NOT NULL,`weight` integer DEFAULT 0,`created_at` datetime,`updated_at` datetime)',
  'CREATE UNIQUE INDEX `idx_group_sub` ON `group_sub_groups`(`group_id`,`sub_group_id`)',
  'CREATE TABLE `api_keys` (`id` integer PRIMARY KEY AUTOINCREMENT,`key_value` text NOT NULL,`key_hash` varchar(128),`group_id` integer NOT NULL,`status` varchar(50) NOT NULL DEFAULT "active",`notes` varchar(255) DEFAULT "",`request_count` integer NOT NULL DEFAULT 0,`failure_count` integer NOT NULL DEFAULT 0,`last_used_at` datetime,`created_at` datetime,`updated_at` datetime,CONSTRAINT `fk_groups_api_keys` FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`))',
  'CREATE INDEX `idx_api_keys_status` ON `api_keys`(`status`)',
  'CREATE INDEX `idx_api_keys_group_id` ON `api_keys`(`group_id`)',
  'CREATE INDEX `idx_api_keys_key_hash` ON `api_keys`(`key_hash`)',
  'CREATE INDEX `idx_api_keys_group_last_used_id` ON `api_keys`(`group_id`,`last_used_at`,`id`)',
  'CREATE TABLE `request_logs` (`id` varchar(36),`timestamp` datetime NOT NULL,`group_id` integer NOT NULL,`group_name` varchar(255),`parent_group_id` integer,`parent_group_name` varchar(255),`key_value` text,`key_hash` varchar(128),`model` varchar(255),`is_success` numeric NOT NULL,`source_ip` varchar(64),`status_code` integer NOT NULL,`request_path` varchar(500),`duration` integer NOT NULL,`error_message` text,`user_agent` varchar(512),`request_type` varchar(20) NOT NULL DEFAULT "final",`upstream_addr` varchar(500),`is_stream` numeric NOT NULL,`request_body` text,PRIMARY KEY (`id`))',
  ...REQUEST_LOG_INDEXES.map((c) => `CREATE INDEX \`idx_request_logs_${c}\` ON \`request_logs\`(\`${c}\`)`),
  'CREATE TABLE `group_hourly_stats` (`id` integer PRIMARY KEY AUTOINCREMENT,`time` datetime NOT NULL,`group_id` integer NOT NULL,`success_count` integer NOT NULL DEFAULT 0,`failure_count` integer NOT NULL DEFAULT 0,`created_at` datetime,`updated_at` datetime)',
  'CREATE UNIQUE INDEX `idx_group_time` ON `group_hourly_stats`(`time`,`group_id`)',
];

const MYSQL_STAMPS = '`created_at` datetime(3) NULL,`updated_at` datetime(3) NULL';
const MYSQL = [
  `CREATE TABLE \`system_settings\` (\`id\` bigint unsigned AUTO_INCREMENT,\`setting_key\` varchar(255) NOT NULL,\`setting_value\` text NOT NULL,\`description\` varchar(512),${MYSQL_STAMPS},PRIMARY KEY (\`id\`),CONSTRAINT \`uni_system_settings_setting_key\` UNIQUE (\`setting_key\`))`,
  `CREATE TABLE \`groups\` (\`id\` bigint unsigned AUTO_INCREMENT,\`name\` varchar(255) NOT NULL,\`display_name\` varchar(255),\`proxy_keys\` text,\`description\` varchar(512),\`group_type\` varchar(50) DEFAULT 'standard',\`upstreams\` JSON NOT NULL,\`validation_endpoint\` varchar(255),\`channel_type\` varchar(50) NOT NULL,\`sort\` bigint DEFAULT 0,\`test_model\` varchar(255) NOT NULL,\`param_overrides\` JSON,\`config\` JSON,\`header_rules\` JSON,\`model_redirect_rules\` JSON,\`model_redirect_strict\` boolean DEFAULT false,\`last_validated_at\` datetime(3) NULL,${MYSQL_STAMPS},PRIMARY KEY (\`id\`),CONSTRAINT \`uni_groups_name\` UNIQUE (\`name\`))`,
  `CREATE TABLE \`group_sub_groups\` (\`id\` bigint unsigned AUTO_INCREMENT,\`group_id\` bigint unsigned NOT NULL,\`sub_group_id\` bigint unsigned NOT NULL,\`weight\` bigint DEFAULT 0,${MYSQL_STAMPS},PRIMARY KEY (\`id\`),UNIQUE INDEX \`idx_group_sub\` (\`group_id\`,\`sub_group_id\`))`,
  `CREATE TABLE \`api_keys\` (\`id\` bigint unsigned AUTO_INCREMENT,\`key_value\` text NOT NULL,\`key_hash\` varchar(128),\`group_id\` bigint unsigned NOT NULL,\`status\` varchar(50) NOT NULL DEFAULT 'active',\`notes\` varchar(255) DEFAULT '',\`request_count\` bigint NOT NULL DEFAULT 0,\`failure_count\` bigint NOT NULL DEFAULT 0,\`last_used_at\` datetime(3) NULL,${MYSQL_STAMPS},PRIMARY KEY (\`id\`),INDEX \`idx_api_keys_status\` (\`status\`),INDEX \`idx_api_keys_group_id\` (\`group_id\`),INDEX \`idx_api_keys_key_hash\` (\`key_hash\`),INDEX \`idx_api_keys_group_last_used_id\` (\`group_id\`,\`last_used_at\`,\`id\`),CONSTRAINT \`fk_groups_api_keys\` FOREIGN KEY (\`group_id\`) REFERENCES \`groups\`(\`id\`))`,
  `CREATE TABLE \`request_logs\` (\`id\` varchar(36),\`timestamp\` datetime(3) NOT NULL,\`group_id\` bigint unsigned NOT NULL,\`group_name\` varchar(255),\`parent_group_id\` bigint unsigned,\`parent_group_name\` varchar(255),\`key_value\` text,\`key_hash\` varchar(128),\`model\` varchar(255),\`is_success\` boolean NOT NULL,\`source_ip\` varchar(64),\`status_code\` bigint NOT NULL,\`request_path\` varchar(500),\`duration\` bigint NOT NULL,\`error_message\` text,\`user_agent\` varchar(512),\`request_type\` varchar(20) NOT NULL DEFAULT 'final',\`upstream_addr\` varchar(500),\`is_stream\` boolean NOT NULL,\`request_body\` text,PRIMARY KEY (\`id\`),${REQUEST_LOG_INDEXES.map((c) => `INDEX \`idx_request_logs_${c}\` (\`${c}\`)`).join(',')})`,
  `CREATE TABLE \`group_hourly_stats\` (\`id\` bigint unsigned AUTO_INCREMENT,\`time\` datetime(3) NOT NULL,\`group_id\` bigint unsigned NOT NULL,\`success_count\` bigint NOT NULL DEFAULT 0,\`failure_count\` bigint NOT NULL DEFAULT 0,${MYSQL_STAMPS},PRIMARY KEY (\`id\`),UNIQUE INDEX \`idx_group_time\` (\`time\`,\`group_id\`))`,
];

const PG_STAMPS = '"created_at" timestamptz,"updated_at" timestamptz';
const PG = [
  `CREATE TABLE "system_settings" ("id" bigserial,"setting_key" varchar(255) NOT NULL,"setting_value" text NOT NULL,"description" varchar(512),${PG_STAMPS},PRIMARY KEY ("id"),CONSTRAINT "uni_system_settings_setting_key" UNIQUE ("setting_key"))`,
  `CREATE TABLE "groups" ("id" bigserial,"name" varchar(255) NOT NULL,"display_name" varchar(255),"proxy_keys" text,"description" varchar(512),"group_type" varchar(50) DEFAULT 'standard',"upstreams" JSONB NOT NULL,"validation_endpoint" varchar(255),"channel_type" varchar(50) NOT NULL,"sort" bigint DEFAULT 0,"test_model" varchar(255) NOT NULL,"param_overrides" JSONB,"config" JSONB,"header_rules" JSONB,"model_redirect_rules" JSONB,"model_redirect_strict" boolean DEFAULT false,"last_validated_at" timestamptz,${PG_STAMPS},PRIMARY KEY ("id"),CONSTRAINT "uni_groups_name" UNIQUE ("name"))`,
  `CREATE TABLE "group_sub_groups" ("id" bigserial,"group_id" bigint NOT NULL,"sub_group_id" bigint NOT NULL,"weight" bigint DEFAULT 0,${PG_STAMPS},PRIMARY KEY ("id"))`,
  'CREATE UNIQUE INDEX IF NOT EXISTS "idx_group_sub" ON "group_sub_groups" ("group_id","sub_group_id")',
  `CREATE TABLE "api_keys" ("id" bigserial,"key_value" text NOT NULL,"key_hash" varchar(128),"group_id" bigint NOT NULL,"status" varchar(50) NOT NULL DEFAULT 'active',"notes" varchar(255) DEFAULT '',"request_count" bigint NOT NULL DEFAULT 0,"failure_count" bigint NOT NULL DEFAULT 0,"last_used_at" timestamptz,${PG_STAMPS},PRIMARY KEY ("id"),CONSTRAINT "fk_groups_api_keys" FOREIGN KEY ("group_id") REFERENCES "groups"("id"))`,
  ...[['status'], ['group_id'], ['key_hash'], ['group_id', 'last_used_at', 'id']].map(
    (cols) =>
      `CREATE INDEX IF NOT EXISTS "idx_api_keys_${cols.length > 1 ? 'group_last_used_id' : cols[0]}" ON "api_keys" (${cols.map((c) => `"${c}"`).join(',')})`,
  ),
  `CREATE TABLE "request_logs" ("id" varchar(36),"timestamp" timestamptz NOT NULL,"group_id" bigint NOT NULL,"group_name" varchar(255),"parent_group_id" bigint,"parent_group_name" varchar(255),"key_value" text,"key_hash" varchar(128),"model" varchar(255),"is_success" boolean NOT NULL,"source_ip" varchar(64),"status_code" bigint NOT NULL,"request_path" varchar(500),"duration" bigint NOT NULL,"error_message" text,"user_agent" varchar(512),"request_type" varchar(20) NOT NULL DEFAULT 'final',"upstream_addr" varchar(500),"is_stream" boolean NOT NULL,"request_body" text,PRIMARY KEY ("id"))`,
  ...REQUEST_LOG_INDEXES.map(
    (c) => `CREATE INDEX IF NOT EXISTS "idx_request_logs_${c}" ON "request_logs" ("${c}")`,
  ),
  `CREATE TABLE "group_hourly_stats" ("id" bigserial,"time" timestamptz NOT NULL,"group_id" bigint NOT NULL,"success_count" bigint NOT NULL DEFAULT 0,"failure_count" bigint NOT NULL DEFAULT 0,${PG_STAMPS},PRIMARY KEY ("id"))`,
  'CREATE UNIQUE INDEX IF NOT EXISTS "idx_group_time" ON "group_hourly_stats" ("time","group_id")',
];

/** The DDL statements GPT-Load 1.4.9 runs on a fresh database of this dialect, in order. */
export function gptLoadDdl(dialect: FixtureDialect): readonly string[] {
  return dialect === 'sqlite' ? SQLITE : dialect === 'mysql' ? MYSQL : PG;
}
