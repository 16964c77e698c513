-- AlterTable
ALTER TABLE "groups" ADD COLUMN "modelAliases" JSONB;

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_group_sub_groups" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "groupId" INTEGER NOT NULL,
    "subGroupId" INTEGER NOT NULL,
    "weight" INTEGER NOT NULL DEFAULT 1,
    "priority" INTEGER NOT NULL DEFAULT 1,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "group_sub_groups_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "groups" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "group_sub_groups_subGroupId_fkey" FOREIGN KEY ("subGroupId") REFERENCES "groups" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_group_sub_groups" ("createdAt", "groupId", "id", "subGroupId", "weight") SELECT "createdAt", "groupId", "id", "subGroupId", "weight" FROM "group_sub_groups";
DROP TABLE "group_sub_groups";
ALTER TABLE "new_group_sub_groups" RENAME TO "group_sub_groups";
CREATE INDEX "group_sub_groups_subGroupId_idx" ON "group_sub_groups"("subGroupId");
CREATE UNIQUE INDEX "group_sub_groups_groupId_subGroupId_key" ON "group_sub_groups"("groupId", "subGroupId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
