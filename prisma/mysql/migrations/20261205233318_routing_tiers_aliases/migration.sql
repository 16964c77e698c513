-- Hand-written to match the PostgreSQL migration of the same name (the drift test compares them).

-- AlterTable
ALTER TABLE `group_sub_groups` ADD COLUMN `priority` INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE `groups` ADD COLUMN `modelAliases` JSON NULL;
