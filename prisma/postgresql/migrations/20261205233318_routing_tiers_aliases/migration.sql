-- AlterTable
ALTER TABLE "groups" ADD COLUMN     "modelAliases" JSONB;

-- AlterTable
ALTER TABLE "group_sub_groups" ADD COLUMN     "priority" INTEGER NOT NULL DEFAULT 1;
