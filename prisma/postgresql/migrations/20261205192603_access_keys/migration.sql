-- DropIndex
DROP INDEX "hourly_stats_time_groupId_model_key";

-- AlterTable
ALTER TABLE "groups" ADD COLUMN     "models" JSONB;

-- AlterTable
ALTER TABLE "request_logs" ADD COLUMN     "accessKeyId" INTEGER,
ADD COLUMN     "accessKeyName" TEXT,
ADD COLUMN     "cachedTokens" INTEGER,
ADD COLUMN     "costUsd" DOUBLE PRECISION;

-- AlterTable
ALTER TABLE "hourly_stats" ADD COLUMN     "accessKeyId" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "cachedTokens" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "costUsd" DOUBLE PRECISION NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "access_keys" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "keyHash" TEXT NOT NULL,
    "keyMasked" TEXT NOT NULL,
    "groups" JSONB NOT NULL,
    "models" JSONB NOT NULL,
    "limits" JSONB NOT NULL,
    "expiresAt" TIMESTAMP(3),
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "notes" TEXT NOT NULL DEFAULT '',
    "lastUsedAt" TIMESTAMP(3),
    "totalRequests" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "totalTokens" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "totalCostUsd" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "access_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "model_prices" (
    "model" TEXT NOT NULL,
    "inputPerMTok" DOUBLE PRECISION NOT NULL,
    "outputPerMTok" DOUBLE PRECISION NOT NULL,
    "cachedInputPerMTok" DOUBLE PRECISION,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "model_prices_pkey" PRIMARY KEY ("model")
);

-- CreateTable
CREATE TABLE "usage_batches" (
    "id" TEXT NOT NULL,
    "time" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "usage_batches_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "access_keys_name_key" ON "access_keys"("name");

-- CreateIndex
CREATE UNIQUE INDEX "access_keys_keyHash_key" ON "access_keys"("keyHash");

-- CreateIndex
CREATE INDEX "usage_batches_time_idx" ON "usage_batches"("time");

-- CreateIndex
CREATE INDEX "request_logs_accessKeyId_time_idx" ON "request_logs"("accessKeyId", "time");

-- CreateIndex
CREATE INDEX "hourly_stats_accessKeyId_time_idx" ON "hourly_stats"("accessKeyId", "time");

-- CreateIndex
CREATE UNIQUE INDEX "hourly_stats_time_groupId_model_accessKeyId_key" ON "hourly_stats"("time", "groupId", "model", "accessKeyId");
