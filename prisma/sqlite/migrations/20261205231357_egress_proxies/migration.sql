-- AlterTable
ALTER TABLE "groups" ADD COLUMN "proxyPool" JSONB;

-- proxyUrl was accepted and ignored before it was retired: a value stored then must not start routing traffic now.
DELETE FROM "settings" WHERE "key" = 'proxyUrl';
UPDATE "groups" SET "config" = json_remove("config", '$.proxyUrl') WHERE json_extract("config", '$.proxyUrl') IS NOT NULL;
