-- CreateTable
CREATE TABLE "settings" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "groups" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "displayName" TEXT NOT NULL DEFAULT '',
    "description" TEXT NOT NULL DEFAULT '',
    "type" TEXT NOT NULL DEFAULT 'standard',
    "channel" TEXT NOT NULL,
    "upstreams" JSONB NOT NULL,
    "testModel" TEXT NOT NULL DEFAULT '',
    "validationEndpoint" TEXT NOT NULL DEFAULT '',
    "proxyKeys" JSONB NOT NULL,
    "paramOverrides" JSONB NOT NULL,
    "modelRedirects" JSONB NOT NULL,
    "modelRedirectStrict" BOOLEAN NOT NULL DEFAULT false,
    "headerRules" JSONB NOT NULL,
    "config" JSONB NOT NULL,
    "sort" INTEGER NOT NULL DEFAULT 0,
    "lastValidatedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "group_sub_groups" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "groupId" INTEGER NOT NULL,
    "subGroupId" INTEGER NOT NULL,
    "weight" INTEGER NOT NULL DEFAULT 1,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "group_sub_groups_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "groups" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "group_sub_groups_subGroupId_fkey" FOREIGN KEY ("subGroupId") REFERENCES "groups" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "groupId" INTEGER NOT NULL,
    "keyValue" TEXT NOT NULL,
    "keyHash" TEXT NOT NULL,
    "keyMasked" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'active',
    "failureCount" INTEGER NOT NULL DEFAULT 0,
    "requestCount" INTEGER NOT NULL DEFAULT 0,
    "lastUsedAt" DATETIME,
    "lastError" TEXT,
    "cooldownUntil" DATETIME,
    "lastCheckedAt" DATETIME,
    "notes" TEXT NOT NULL DEFAULT '',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "api_keys_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "groups" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "request_logs" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "requestId" TEXT NOT NULL,
    "time" DATETIME NOT NULL,
    "groupId" INTEGER NOT NULL,
    "groupName" TEXT NOT NULL,
    "parentGroupId" INTEGER,
    "parentGroupName" TEXT,
    "keyId" INTEGER,
    "keyMasked" TEXT,
    "keyHash" TEXT,
    "proxyKeyMasked" TEXT,
    "model" TEXT,
    "statusCode" INTEGER NOT NULL,
    "success" BOOLEAN NOT NULL,
    "durationMs" INTEGER NOT NULL,
    "ttfbMs" INTEGER,
    "stream" BOOLEAN NOT NULL,
    "retries" INTEGER NOT NULL DEFAULT 0,
    "attempts" JSONB NOT NULL,
    "error" TEXT,
    "clientIp" TEXT,
    "requestPath" TEXT,
    "promptTokens" INTEGER,
    "completionTokens" INTEGER,
    "requestBody" TEXT
);

-- CreateTable
CREATE TABLE "hourly_stats" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "time" DATETIME NOT NULL,
    "groupId" INTEGER NOT NULL,
    "model" TEXT NOT NULL DEFAULT '',
    "requests" INTEGER NOT NULL DEFAULT 0,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "promptTokens" INTEGER NOT NULL DEFAULT 0,
    "completionTokens" INTEGER NOT NULL DEFAULT 0
);

-- CreateTable
CREATE TABLE "audit_logs" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "time" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "clientIp" TEXT NOT NULL DEFAULT '',
    "action" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "details" JSONB NOT NULL
);

-- CreateTable
CREATE TABLE "tasks" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "type" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "processed" INTEGER NOT NULL DEFAULT 0,
    "total" INTEGER NOT NULL DEFAULT 0,
    "result" JSONB,
    "error" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "groups_name_key" ON "groups"("name");

-- CreateIndex
CREATE INDEX "group_sub_groups_subGroupId_idx" ON "group_sub_groups"("subGroupId");

-- CreateIndex
CREATE UNIQUE INDEX "group_sub_groups_groupId_subGroupId_key" ON "group_sub_groups"("groupId", "subGroupId");

-- CreateIndex
CREATE INDEX "api_keys_groupId_status_idx" ON "api_keys"("groupId", "status");

-- CreateIndex
CREATE INDEX "api_keys_keyHash_idx" ON "api_keys"("keyHash");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_groupId_keyHash_key" ON "api_keys"("groupId", "keyHash");

-- CreateIndex
CREATE INDEX "request_logs_time_idx" ON "request_logs"("time");

-- CreateIndex
CREATE INDEX "request_logs_groupId_time_idx" ON "request_logs"("groupId", "time");

-- CreateIndex
CREATE INDEX "request_logs_requestId_idx" ON "request_logs"("requestId");

-- CreateIndex
CREATE INDEX "request_logs_model_idx" ON "request_logs"("model");

-- CreateIndex
CREATE INDEX "request_logs_keyId_idx" ON "request_logs"("keyId");

-- CreateIndex
CREATE INDEX "request_logs_success_time_idx" ON "request_logs"("success", "time");

-- CreateIndex
CREATE INDEX "hourly_stats_groupId_time_idx" ON "hourly_stats"("groupId", "time");

-- CreateIndex
CREATE UNIQUE INDEX "hourly_stats_time_groupId_model_key" ON "hourly_stats"("time", "groupId", "model");

-- CreateIndex
CREATE INDEX "audit_logs_time_idx" ON "audit_logs"("time");
