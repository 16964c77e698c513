-- AlterTable
ALTER TABLE "groups" ADD COLUMN     "affinity" JSONB,
ADD COLUMN     "dailyResetTimeZone" TEXT,
ADD COLUMN     "keyLimits" JSONB;

-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "modelCooling" JSONB;
