-- AlterTable
ALTER TABLE "groups" ADD COLUMN "affinity" JSONB;
ALTER TABLE "groups" ADD COLUMN "dailyResetTimeZone" TEXT;
ALTER TABLE "groups" ADD COLUMN "keyLimits" JSONB;

-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN "modelCooling" JSONB;
