-- Hand-written to match the PostgreSQL migration of the same name (the drift test compares them).

-- AlterTable
ALTER TABLE `groups` ADD COLUMN `models` JSON NULL;

-- AlterTable
ALTER TABLE `request_logs` ADD COLUMN `cachedTokens` INTEGER NULL,
    ADD COLUMN `costUsd` DOUBLE NULL,
    ADD COLUMN `accessKeyId` INTEGER NULL,
    ADD COLUMN `accessKeyName` VARCHAR(100) NULL;

-- AlterTable (the new unique index first: MySQL keeps an index the old one's columns can use)
ALTER TABLE `hourly_stats` ADD COLUMN `accessKeyId` INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN `cachedTokens` INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN `costUsd` DOUBLE NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX `hourly_stats_time_groupId_model_accessKeyId_key` ON `hourly_stats`(`time`, `groupId`, `model`, `accessKeyId`);
DROP INDEX `hourly_stats_time_groupId_model_key` ON `hourly_stats`;
CREATE INDEX `hourly_stats_accessKeyId_time_idx` ON `hourly_stats`(`accessKeyId`, `time`);

-- CreateIndex
CREATE INDEX `request_logs_accessKeyId_time_idx` ON `request_logs`(`accessKeyId`, `time`);

-- CreateTable
CREATE TABLE `access_keys` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `name` VARCHAR(100) NOT NULL,
    `keyHash` VARCHAR(64) NOT NULL,
    `keyMasked` VARCHAR(191) NOT NULL,
    `groups` JSON NOT NULL,
    `models` JSON NOT NULL,
    `limits` JSON NOT NULL,
    `expiresAt` DATETIME(3) NULL,
    `enabled` BOOLEAN NOT NULL DEFAULT true,
    `notes` VARCHAR(2000) NOT NULL DEFAULT '',
    `lastUsedAt` DATETIME(3) NULL,
    `totalRequests` DOUBLE NOT NULL DEFAULT 0,
    `totalTokens` DOUBLE NOT NULL DEFAULT 0,
    `totalCostUsd` DOUBLE NOT NULL DEFAULT 0,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,

    UNIQUE INDEX `access_keys_name_key`(`name`),
    UNIQUE INDEX `access_keys_keyHash_key`(`keyHash`),
    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `model_prices` (
    `model` VARCHAR(255) NOT NULL,
    `inputPerMTok` DOUBLE NOT NULL,
    `outputPerMTok` DOUBLE NOT NULL,
    `cachedInputPerMTok` DOUBLE NULL,
    `updatedAt` DATETIME(3) NOT NULL,

    PRIMARY KEY (`model`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `usage_batches` (
    `id` VARCHAR(64) NOT NULL,
    `time` DATETIME(3) NOT NULL,

    INDEX `usage_batches_time_idx`(`time`),
    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
