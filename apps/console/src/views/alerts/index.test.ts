import type { AlertChannel, AlertHistoryItem } from '@keyway/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { json, stubFetch } from '../../testing/fetch-stub';
import { byTestId, mountWithApp, settle, typeInto } from '../../testing/mount';
import { confirmAction, toastError, toastSuccess } from '../../ui/feedback';
import AlertsPage from './index.vue';

vi.mock(import('../../ui/feedback'), async (original) => ({
  ...(await original()),
  confirmAction: vi.fn(() => Promise.resolve(true)),
  toastSuccess: vi.fn(),
  toastError: vi.fn(),
}));

vi.setConfig({ testTimeout: 20_000 });

const HOOK_TOKEN = 'T000-secret-hook-token-0001';
let stub: ReturnType<typeof stubFetch>;
let live: AlertChannel[];

function channel(id: number, over: Partial<AlertChannel> = {}): AlertChannel {
  return {
    id,
    name: `ch-${id}`,
    type: 'webhook',
    url: 'https://hooks.example.com/…',
    hasSecret: true,
    chatId: null,
    events: ['group.exhausted', 'key.invalid'],
    enabled: true,
    createdAt: '2026-12-06T00:00:00.000Z',
    updatedAt: '2026-12-06T00:00:00.000Z',
    ...over,
  };
}

const historyItem: AlertHistoryItem = {
  id: 7,
  time: '2026-12-06T01:00:00.000Z',
  channelId: 1,
  channelName: 'ch-1',
  event: 'group.exhausted',
  severity: 'critical',
  subject: 'group:3',
  message: 'Group openai has no usable key',
  status: 'sent',
  suppressed: 4,
  statusCode: 200,
  error: null,
  details: null,
};

beforeEach(() => {
  live = [channel(1)];
  stub = stubFetch({
    'GET /api/alerts/channels': () => json({ items: live }),
    'GET /api/alerts/history': json({ items: [historyItem], total: 1, page: 1, pageSize: 20 }),
    'POST /api/alerts/channels': (c) => {
      const created = channel(2, {
        name: (c.body as { name: string }).name,
        type: 'slack',
        hasSecret: false,
      });
      live = [...live, created];
      return json(created, 201);
    },
    'PATCH /api/alerts/channels/1': (c) => {
      live = live.map((k) => (k.id === 1 ? { ...k, ...(c.body as Partial<AlertChannel>) } : k));
      return json(live[0]);
    },
    'POST /api/alerts/channels/1/test': json({ delivered: false, statusCode: 403, error: 'HTTP 403' }),
    'DELETE /api/alerts/channels/1': () => {
      live = live.filter((k) => k.id !== 1);
      return new Response(null, { status: 204 });
    },
  });
  vi.stubGlobal('fetch', stub.fetch);
  vi.mocked(toastError).mockClear();
  vi.mocked(toastSuccess).mockClear();
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

async function openPage() {
  const { wrapper } = mountWithApp(AlertsPage);
  await settle(10);
  return wrapper;
}

describe('alerts page', () => {
  it('lists channels with masked URLs and the history with suppressed counts', async () => {
    await openPage();
    const table = byTestId('alert-channels').textContent ?? '';
    expect(table).toContain('ch-1');
    expect(table).toContain('https://hooks.example.com/…');
    expect(table).toContain('signed');
    expect(byTestId('alert-history-message-7').textContent).toContain('Group openai has no usable key');
    expect(byTestId('alert-history').textContent).toContain('(+4 suppressed)');
  });

  it('adds a Slack channel: the URL is sent once and never shown back', async () => {
    await openPage();
    byTestId('alert-channel-add').click();
    await settle();
    await typeInto(byTestId('alert-channel-name'), 'ops-slack');
    await typeInto(byTestId('alert-channel-url'), `https://hooks.slack.com/services/${HOOK_TOKEN}`);
    // Pick Slack: the select is an Element Plus widget; set the type through its option list.
    byTestId('alert-channel-type').click();
    await settle();
    const slack = [...document.querySelectorAll('.el-select-dropdown__item')].find(
      (e) => e.textContent?.trim() === 'Slack',
    );
    (slack as HTMLElement).click();
    await settle();
    byTestId('alert-channel-submit').click();
    await settle(10);
    const body = stub.callsTo('POST /api/alerts/channels')[0]?.body as Record<string, unknown>;
    expect(body).toMatchObject({ name: 'ops-slack', type: 'slack', secret: null });
    expect(body.url).toContain(HOOK_TOKEN);
    expect((body.events as string[]).length).toBe(9);
    expect(byTestId('alert-channels').textContent).toContain('ops-slack');
    expect(document.body.textContent).not.toContain(HOOK_TOKEN);
  });

  it('edits a channel without resending its URL or secret', async () => {
    await openPage();
    byTestId('alert-channel-edit-1').click();
    await settle();
    byTestId('alert-event-budget.exceeded').querySelector('input')?.click();
    await settle();
    byTestId('alert-channel-submit').click();
    await settle(10);
    const body = stub.callsTo('PATCH /api/alerts/channels/1')[0]?.body as Record<string, unknown>;
    expect(body.events).toEqual(['group.exhausted', 'key.invalid', 'budget.exceeded']);
    expect(body).not.toHaveProperty('url');
    expect(body).not.toHaveProperty('secret');
  });

  it('reports a failed test delivery and deletes after confirmation', async () => {
    await openPage();
    byTestId('alert-channel-test-1').click();
    await settle(10);
    expect(stub.callsTo('POST /api/alerts/channels/1/test')).toHaveLength(1);
    expect(vi.mocked(toastError).mock.calls[0]?.[0]).toContain('HTTP 403');
    byTestId('alert-channel-delete-1').click();
    await settle(10);
    expect(vi.mocked(confirmAction)).toHaveBeenCalled();
    expect(stub.callsTo('DELETE /api/alerts/channels/1')).toHaveLength(1);
    expect(byTestId('alert-channels').textContent).not.toContain('ch-1');
  });
});
