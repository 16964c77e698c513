-- Hand-written to match the PostgreSQL migration of the same name (the drift test compares them).

-- AlterTable
ALTER TABLE `groups` ADD COLUMN `proxyPool` JSON NULL;

-- proxyUrl was accepted and ignored before it was retired: a value stored then must not start routing traffic now.
DELETE FROM `settings` WHERE `key` = 'proxyUrl';
UPDATE `groups` SET `config` = JSON_REMOVE(`config`, '$.proxyUrl') WHERE JSON_CONTAINS_PATH(`config`, 'one', '$.proxyUrl');
