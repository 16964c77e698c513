-- Hand-written to match the PostgreSQL migration of the same name (the drift test compares them).

-- AlterTable
ALTER TABLE `groups` ADD COLUMN `affinity` JSON NULL,
    ADD COLUMN `dailyResetTimeZone` VARCHAR(64) NULL,
    ADD COLUMN `keyLimits` JSON NULL;

-- AlterTable
ALTER TABLE `api_keys` ADD COLUMN `modelCooling` JSON NULL;
