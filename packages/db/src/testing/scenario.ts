// One client scenario every provider must pass, so the three generated clients are held to the same behaviour.
import { expect } from 'vitest';
import type { DbClient } from '../client';

const hash = (c: string) => c.repeat(64);

/** A valid group row to create, named `name`. */
export function groupData(name: string) {
  return {
    name,
    channel: 'openai',
    upstreams: [{ url: 'https://api.openai.com', weight: 1 }],
    proxyKeys: [{ hash: hash('f'), masked: 'kw-…abcd' }],
    paramOverrides: { temperature: 0.2 },
    modelRedirects: { 'gpt-4': 'gpt-4o' },
    headerRules: [{ action: 'remove', key: 'x-debug' }],
    config: {},
  };
}

export async function exerciseClient(prisma: DbClient): Promise<void> {
  // Create a group with keys and read it back, JSON and defaults included.
  const group = await prisma.group.create({ data: groupData('main') });
  expect(group).toMatchObject({ displayName: '', type: 'standard', modelRedirectStrict: false, sort: 0 });
  await prisma.apiKey.createMany({
    data: [
      { groupId: group.id, keyValue: 'sk-aaa', keyHash: hash('a'), keyMasked: 'sk-…aaa' },
      {
        groupId: group.id,
        keyValue: 'x'.repeat(4096),
        keyHash: hash('b'),
        keyMasked: 'xx…xx',
        status: 'disabled',
      },
    ],
  });
  const loaded = await prisma.group.findUniqueOrThrow({
    where: { name: 'main' },
    include: { keys: { orderBy: { id: 'asc' } } },
  });
  expect(loaded.upstreams).toEqual([{ url: 'https://api.openai.com', weight: 1 }]);
  expect(loaded.paramOverrides).toEqual({ temperature: 0.2 });
  expect(loaded.keys.map((k) => [k.keyHash, k.status, k.failureCount])).toEqual([
    [hash('a'), 'active', 0],
    [hash('b'), 'disabled', 0],
  ]);
  expect(loaded.keys[1]?.keyValue).toHaveLength(4096);

  // The (groupId, keyHash) unique index rejects the same key twice in a group, not across groups.
  await expect(
    prisma.apiKey.create({
      data: { groupId: group.id, keyValue: 'sk-aaa', keyHash: hash('a'), keyMasked: 'sk-…aaa' },
    }),
  ).rejects.toMatchObject({ code: 'P2002' });
  const other = await prisma.group.create({ data: groupData('other') });
  await prisma.apiKey.create({
    data: { groupId: other.id, keyValue: 'sk-aaa', keyHash: hash('a'), keyMasked: 'sk-…' },
  });

  // A request log row with millisecond timestamps, JSON attempts and long text.
  const time = new Date('2026-01-02T03:04:05.678Z');
  const attempts = [
    {
      keyId: 1,
      key: 'sk-…aaa',
      upstreamUrl: 'https://api.openai.com',
      statusCode: 429,
      class: 'rate',
      durationMs: 12,
      error: 'slow down',
    },
  ];
  const log = await prisma.requestLog.create({
    data: {
      requestId: 'req-1',
      time,
      groupId: group.id,
      groupName: group.name,
      keyId: loaded.keys[0]?.id ?? null,
      model: 'gpt-4o',
      statusCode: 200,
      success: true,
      durationMs: 321,
      ttfbMs: 45,
      stream: true,
      retries: 1,
      attempts,
      requestBody: 'b'.repeat(100_000),
    },
  });
  expect(log.id).toMatch(/^[0-9a-f-]{36}$/);
  const logs = await prisma.requestLog.findMany({ where: { groupId: group.id, time: { gte: time } } });
  expect(logs).toHaveLength(1);
  expect(logs[0]).toMatchObject({ time, success: true, stream: true, parentGroupId: null, attempts });
  expect(logs[0]?.requestBody).toHaveLength(100_000);

  // Hourly stats are upserted on their compound unique key.
  const bucket = {
    time: new Date('2026-01-02T03:00:00.000Z'),
    groupId: group.id,
    model: 'gpt-4o',
    accessKeyId: 0,
  };
  for (let i = 0; i < 2; i++) {
    await prisma.hourlyStat.upsert({
      where: { time_groupId_model_accessKeyId: bucket },
      create: { ...bucket, requests: 1 },
      update: { requests: { increment: 1 } },
    });
  }
  expect(
    await prisma.hourlyStat.findUniqueOrThrow({ where: { time_groupId_model_accessKeyId: bucket } }),
  ).toMatchObject({
    requests: 2,
  });

  // Aggregates: a member in use cannot be deleted; deleting the aggregate removes its links, and a group's keys
  // go with it.
  const aggregate = await prisma.group.create({
    data: {
      ...groupData('agg'),
      type: 'aggregate',
      subGroups: { create: [{ subGroupId: other.id, weight: 3 }] },
    },
  });
  await expect(prisma.group.delete({ where: { id: other.id } })).rejects.toMatchObject({
    code: expect.stringMatching(/^P20/) as unknown,
  });
  await prisma.group.delete({ where: { id: aggregate.id } });
  expect(await prisma.groupSubGroup.count()).toBe(0);
  await prisma.group.delete({ where: { id: other.id } });
  await prisma.group.delete({ where: { id: group.id } });
  expect(await prisma.apiKey.count()).toBe(0);
  // Logs outlive their group.
  expect(await prisma.requestLog.count()).toBe(1);

  // Transactions roll back.
  await expect(
    prisma.$transaction(async (tx) => {
      await tx.setting.create({ data: { key: 'a', value: '1' } });
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  expect(await prisma.setting.count()).toBe(0);
}
