-- AlterTable
ALTER TABLE "groups" ADD COLUMN "models" JSONB;

-- AlterTable
ALTER TABLE "request_logs" ADD COLUMN "accessKeyId" INTEGER;
ALTER TABLE "request_logs" ADD COLUMN "accessKeyName" TEXT;
ALTER TABLE "request_logs" ADD COLUMN "cachedTokens" INTEGER;
ALTER TABLE "request_logs" ADD COLUMN "costUsd" REAL;

-- CreateTable
CREATE TABLE "access_keys" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "keyHash" TEXT NOT NULL,
    "keyMasked" TEXT NOT NULL,
    "groups" JSONB NOT NULL,
    "models" JSONB NOT NULL,
    "limits" JSONB NOT NULL,
    "expiresAt" DATETIME,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "notes" TEXT NOT NULL DEFAULT '',
    "lastUsedAt" DATETIME,
    "totalRequests" REAL NOT NULL DEFAULT 0,
    "totalTokens" REAL NOT NULL DEFAULT 0,
    "totalCostUsd" REAL NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "model_prices" (
    "model" TEXT NOT NULL PRIMARY KEY,
    "inputPerMTok" REAL NOT NULL,
    "outputPerMTok" REAL NOT NULL,
    "cachedInputPerMTok" REAL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "usage_batches" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "time" DATETIME NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_hourly_stats" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "time" DATETIME NOT NULL,
    "groupId" INTEGER NOT NULL,
    "model" TEXT NOT NULL DEFAULT '',
    "accessKeyId" INTEGER NOT NULL DEFAULT 0,
    "requests" INTEGER NOT NULL DEFAULT 0,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "promptTokens" INTEGER NOT NULL DEFAULT 0,
    "completionTokens" INTEGER NOT NULL DEFAULT 0,
    "cachedTokens" INTEGER NOT NULL DEFAULT 0,
    "costUsd" REAL NOT NULL DEFAULT 0
);
INSERT INTO "new_hourly_stats" ("completionTokens", "failures", "groupId", "id", "model", "promptTokens", "requests", "time") SELECT "completionTokens", "failures", "groupId", "id", "model", "promptTokens", "requests", "time" FROM "hourly_stats";
DROP TABLE "hourly_stats";
ALTER TABLE "new_hourly_stats" RENAME TO "hourly_stats";
CREATE INDEX "hourly_stats_groupId_time_idx" ON "hourly_stats"("groupId", "time");
CREATE INDEX "hourly_stats_accessKeyId_time_idx" ON "hourly_stats"("accessKeyId", "time");
CREATE UNIQUE INDEX "hourly_stats_time_groupId_model_accessKeyId_key" ON "hourly_stats"("time", "groupId", "model", "accessKeyId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "access_keys_name_key" ON "access_keys"("name");

-- CreateIndex
CREATE UNIQUE INDEX "access_keys_keyHash_key" ON "access_keys"("keyHash");

-- CreateIndex
CREATE INDEX "usage_batches_time_idx" ON "usage_batches"("time");

-- CreateIndex
CREATE INDEX "request_logs_accessKeyId_time_idx" ON "request_logs"("accessKeyId", "time");
