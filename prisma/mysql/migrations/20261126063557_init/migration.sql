-- Hand-written: Prisma's schema engine (wasm build) has no MySQL connector. This follows the DDL Prisma emits
-- for prisma/mysql/schema.prisma (same table, column, index and constraint names; InnoDB, utf8mb4) and is
-- checked against the PostgreSQL migration on live servers by packages/db/src/mysql-parity.int.test.ts.

-- CreateTable
CREATE TABLE `settings` (
    `key` VARCHAR(191) NOT NULL,
    `value` MEDIUMTEXT NOT NULL,
    `updatedAt` DATETIME(3) NOT NULL,

    PRIMARY KEY (`key`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `groups` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `name` VARCHAR(100) NOT NULL,
    `displayName` VARCHAR(255) NOT NULL DEFAULT '',
    `description` VARCHAR(2000) NOT NULL DEFAULT '',
    `type` VARCHAR(32) NOT NULL DEFAULT 'standard',
    `channel` VARCHAR(32) NOT NULL,
    `upstreams` JSON NOT NULL,
    `testModel` VARCHAR(255) NOT NULL DEFAULT '',
    `validationEndpoint` VARCHAR(500) NOT NULL DEFAULT '',
    `proxyKeys` JSON NOT NULL,
    `paramOverrides` JSON NOT NULL,
    `modelRedirects` JSON NOT NULL,
    `modelRedirectStrict` BOOLEAN NOT NULL DEFAULT false,
    `headerRules` JSON NOT NULL,
    `config` JSON NOT NULL,
    `sort` INTEGER NOT NULL DEFAULT 0,
    `lastValidatedAt` DATETIME(3) NULL,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,

    UNIQUE INDEX `groups_name_key`(`name`),
    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `group_sub_groups` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `groupId` INTEGER NOT NULL,
    `subGroupId` INTEGER NOT NULL,
    `weight` INTEGER NOT NULL DEFAULT 1,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    INDEX `group_sub_groups_subGroupId_idx`(`subGroupId`),
    UNIQUE INDEX `group_sub_groups_groupId_subGroupId_key`(`groupId`, `subGroupId`),
    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `api_keys` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `groupId` INTEGER NOT NULL,
    `keyValue` TEXT NOT NULL,
    `keyHash` VARCHAR(64) NOT NULL,
    `keyMasked` VARCHAR(191) NOT NULL,
    `status` VARCHAR(32) NOT NULL DEFAULT 'active',
    `failureCount` INTEGER NOT NULL DEFAULT 0,
    `requestCount` INTEGER NOT NULL DEFAULT 0,
    `lastUsedAt` DATETIME(3) NULL,
    `lastError` TEXT NULL,
    `cooldownUntil` DATETIME(3) NULL,
    `lastCheckedAt` DATETIME(3) NULL,
    `notes` VARCHAR(1000) NOT NULL DEFAULT '',
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,

    INDEX `api_keys_groupId_status_idx`(`groupId`, `status`),
    INDEX `api_keys_keyHash_idx`(`keyHash`),
    UNIQUE INDEX `api_keys_groupId_keyHash_key`(`groupId`, `keyHash`),
    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `request_logs` (
    `id` VARCHAR(36) NOT NULL,
    `requestId` VARCHAR(191) NOT NULL,
    `time` DATETIME(3) NOT NULL,
    `groupId` INTEGER NOT NULL,
    `groupName` VARCHAR(191) NOT NULL,
    `parentGroupId` INTEGER NULL,
    `parentGroupName` VARCHAR(191) NULL,
    `keyId` INTEGER NULL,
    `keyMasked` VARCHAR(191) NULL,
    `keyHash` VARCHAR(64) NULL,
    `proxyKeyMasked` VARCHAR(191) NULL,
    `model` VARCHAR(255) NULL,
    `statusCode` INTEGER NOT NULL,
    `success` BOOLEAN NOT NULL,
    `durationMs` INTEGER NOT NULL,
    `ttfbMs` INTEGER NULL,
    `stream` BOOLEAN NOT NULL,
    `retries` INTEGER NOT NULL DEFAULT 0,
    `attempts` JSON NOT NULL,
    `error` TEXT NULL,
    `clientIp` VARCHAR(64) NULL,
    `requestPath` TEXT NULL,
    `promptTokens` INTEGER NULL,
    `completionTokens` INTEGER NULL,
    `requestBody` MEDIUMTEXT NULL,

    INDEX `request_logs_time_idx`(`time`),
    INDEX `request_logs_groupId_time_idx`(`groupId`, `time`),
    INDEX `request_logs_requestId_idx`(`requestId`),
    INDEX `request_logs_model_idx`(`model`),
    INDEX `request_logs_keyId_idx`(`keyId`),
    INDEX `request_logs_success_time_idx`(`success`, `time`),
    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `hourly_stats` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `time` DATETIME(3) NOT NULL,
    `groupId` INTEGER NOT NULL,
    `model` VARCHAR(255) NOT NULL DEFAULT '',
    `requests` INTEGER NOT NULL DEFAULT 0,
    `failures` INTEGER NOT NULL DEFAULT 0,
    `promptTokens` INTEGER NOT NULL DEFAULT 0,
    `completionTokens` INTEGER NOT NULL DEFAULT 0,

    INDEX `hourly_stats_groupId_time_idx`(`groupId`, `time`),
    UNIQUE INDEX `hourly_stats_time_groupId_model_key`(`time`, `groupId`, `model`),
    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `audit_logs` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `time` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `clientIp` VARCHAR(64) NOT NULL DEFAULT '',
    `action` VARCHAR(191) NOT NULL,
    `target` TEXT NOT NULL,
    `details` JSON NOT NULL,

    INDEX `audit_logs_time_idx`(`time`),
    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `tasks` (
    `id` VARCHAR(64) NOT NULL,
    `type` VARCHAR(64) NOT NULL,
    `state` VARCHAR(32) NOT NULL,
    `processed` INTEGER NOT NULL DEFAULT 0,
    `total` INTEGER NOT NULL DEFAULT 0,
    `result` JSON NULL,
    `error` TEXT NULL,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,

    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AddForeignKey
ALTER TABLE `group_sub_groups` ADD CONSTRAINT `group_sub_groups_groupId_fkey` FOREIGN KEY (`groupId`) REFERENCES `groups`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `group_sub_groups` ADD CONSTRAINT `group_sub_groups_subGroupId_fkey` FOREIGN KEY (`subGroupId`) REFERENCES `groups`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `api_keys` ADD CONSTRAINT `api_keys_groupId_fkey` FOREIGN KEY (`groupId`) REFERENCES `groups`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;
