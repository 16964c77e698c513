-- CreateIndex
CREATE INDEX "api_keys_groupId_id_idx" ON "api_keys"("groupId", "id");
