-- Hand-written to match the PostgreSQL migration of the same name (the drift test compares them).

-- AlterTable
ALTER TABLE `groups` ADD COLUMN `translate` JSON NULL;

-- AlterTable
ALTER TABLE `request_logs` ADD COLUMN `translatedFrom` VARCHAR(32) NULL;

-- CreateTable
CREATE TABLE `alert_channels` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `name` VARCHAR(100) NOT NULL,
    `type` VARCHAR(32) NOT NULL,
    `url` TEXT NOT NULL,
    `secret` TEXT NULL,
    `chatId` VARCHAR(255) NULL,
    `events` JSON NOT NULL,
    `enabled` BOOLEAN NOT NULL DEFAULT true,
    `createdAt` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updatedAt` DATETIME(3) NOT NULL,

    UNIQUE INDEX `alert_channels_name_key`(`name`),
    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `alert_history` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `time` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `channelId` INTEGER NULL,
    `channelName` VARCHAR(100) NULL,
    `event` VARCHAR(64) NOT NULL,
    `severity` VARCHAR(16) NOT NULL,
    `subject` VARCHAR(255) NOT NULL,
    `message` TEXT NOT NULL,
    `status` VARCHAR(16) NOT NULL,
    `suppressed` INTEGER NOT NULL DEFAULT 0,
    `statusCode` INTEGER NULL,
    `error` TEXT NULL,
    `details` JSON NULL,

    INDEX `alert_history_time_idx`(`time`),
    INDEX `alert_history_event_subject_time_idx`(`event`, `subject`, `time`),
    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
