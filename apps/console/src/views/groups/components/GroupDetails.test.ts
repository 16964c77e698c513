import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiError, json, stubFetch } from '../../../testing/fetch-stub';
import { accessKey, group } from '../../../testing/fixtures';
import { byTestId, mountWithApp, settle, settleErrors, typeInto } from '../../../testing/mount';
import GroupDetails from './GroupDetails.vue';

vi.setConfig({ testTimeout: 20_000 });
let stub: ReturnType<typeof stubFetch>;

beforeEach(() => {
  stub = stubFetch();
  vi.stubGlobal('fetch', stub.fetch);
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

async function convert(name: string) {
  const { wrapper } = mountWithApp(GroupDetails, {
    props: { group: group({ id: 6, proxyKeys: ['sk-t***77aa'], models: ['gpt-4o*', 'o3-*'] }) },
  });
  await settle();
  byTestId('proxy-key-to-access-key').click();
  await settle();
  await typeInto(byTestId('from-proxy-key-name'), name);
  byTestId('from-proxy-key-submit').click();
  await settleErrors();
  return wrapper;
}

describe('group details', () => {
  it("lists the group's model globs", async () => {
    const { wrapper } = mountWithApp(GroupDetails, {
      props: { group: group({ models: ['gpt-4o*', 'o3-*'] }) },
    });
    await settle();
    expect(wrapper.text()).toContain('gpt-4o*');
    expect(wrapper.text()).toContain('o3-*');
  });

  it("turns one of the group's proxy keys into an access key by its mask and the group's id", async () => {
    stub.on('POST /api/access-keys/from-proxy-key', json(accessKey(2, { name: 'mobile-app' }), 201));
    const w = await convert('mobile-app');
    expect(stub.callsTo('POST /api/access-keys/from-proxy-key').map((c) => c.body)).toEqual([
      { groupId: 6, keyMasked: 'sk-t***77aa', name: 'mobile-app' },
    ]);
    expect(w.emitted('changed')).toHaveLength(1);
  });

  it('keeps the dialog open with the reason when the API refuses the name', async () => {
    stub.on(
      'POST /api/access-keys/from-proxy-key',
      apiError(400, 'VALIDATION_FAILED', 'The request is not valid', [
        { path: 'name', message: 'An access key with this name exists' },
      ]),
    );
    const w = await convert('taken');
    expect(byTestId('from-proxy-key-dialog').textContent).toContain('An access key with this name exists');
    expect(w.emitted('changed')).toBeUndefined();
  });

  it("summarises the group's key limits, reset zone and session affinity", async () => {
    const { wrapper } = mountWithApp(GroupDetails, {
      props: {
        group: group({
          channel: 'gemini',
          keyLimits: {
            default: { rpm: 10, tpm: null, rpd: 250 },
            models: { 'gemini-2.5-pro': { rpm: 5, tpm: null, rpd: 100 } },
            total: null,
          },
          affinity: { mode: 'session', header: 'x-session-id', ttlSeconds: 3600 },
        }),
      },
    });
    await settle();
    const limits = byTestId('group-details-key-limits').textContent ?? '';
    expect(limits).toContain('Each model: 10 rpm · 250 rpd');
    expect(limits).toContain('gemini-2.5-pro: 5 rpm · 100 rpd');
    expect(limits).not.toContain('All models');
    expect(wrapper.text()).toContain('America/Los_Angeles (default)');
    expect(byTestId('group-details-affinity').textContent?.trim()).toBe(
      'Per session · x-session-id · 3600 s',
    );
  });
});
