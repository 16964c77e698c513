import type { Price } from '@keyway/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiError, json, stubFetch } from '../../../testing/fetch-stub';
import { byTestId, mountWithApp, settle, settleErrors, typeInto } from '../../../testing/mount';
import { confirmAction } from '../../../ui/feedback';
import PricesCard from './PricesCard.vue';

vi.mock(import('../../../ui/feedback'), async (original) => ({
  ...(await original()),
  confirmAction: vi.fn(() => Promise.resolve(true)),
  toastSuccess: vi.fn(),
  toastError: vi.fn(),
}));
vi.setConfig({ testTimeout: 20_000 });

let stub: ReturnType<typeof stubFetch>;
let table: Price[];

beforeEach(() => {
  table = [
    { model: 'gpt-4o', inputPerMTok: 2.5, outputPerMTok: 10, cachedInputPerMTok: 1.25, source: 'default' },
    { model: 'my/model:v1', inputPerMTok: 1, outputPerMTok: 2, cachedInputPerMTok: null, source: 'custom' },
  ];
  stub = stubFetch({
    'GET /api/prices': () => json({ items: table }),
  });
  vi.stubGlobal('fetch', stub.fetch);
  vi.mocked(confirmAction).mockClear();
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

async function mountCard() {
  const { wrapper } = mountWithApp(PricesCard);
  await settle(10);
  return wrapper;
}

/** Commits a number the way el-input-number does: typed, then changed. */
async function setNumber(testid: string, value: number) {
  const input = byTestId(testid).querySelector('input') ?? byTestId(testid);
  await typeInto(input, String(value));
  input.dispatchEvent(new Event('change', { bubbles: true }));
  await settle();
}

describe('prices card', () => {
  it('lists every price with its source, offering a reset only on custom entries', async () => {
    const w = await mountCard();
    expect(w.text()).toContain('gpt-4o');
    expect(w.text()).toContain('$2.5');
    expect(w.text()).toContain('as input'); // no cached price: billed at the input price
    expect(document.querySelector('[data-testid="price-reset-gpt-4o"]')).toBeNull();
    expect(document.querySelector('[data-testid="price-reset-my/model:v1"]')).not.toBeNull();
  });

  it('saves an edit with PUT on the model, its name escaped in the path', async () => {
    stub.on('PUT /api/prices/my%2Fmodel%3Av1', (c) =>
      json({ model: 'my/model:v1', ...(c.body as object), cachedInputPerMTok: null, source: 'custom' }),
    );
    await mountCard();
    byTestId('price-edit-my/model:v1').click();
    await settle();
    await setNumber('price-outputPerMTok', 3.5);
    byTestId('price-submit').click();
    await settle(10);
    const puts = stub.calls.filter((c) => c.method === 'PUT');
    expect(puts.map((c) => c.url)).toEqual(['/api/prices/my%2Fmodel%3Av1']);
    expect(puts[0]?.body).toEqual({ inputPerMTok: 1, outputPerMTok: 3.5, cachedInputPerMTok: null });
  });

  it('adds a model and refuses a wildcard name before sending anything', async () => {
    stub.on('PUT /api/prices/o9-mini', (c) =>
      json({ model: 'o9-mini', ...(c.body as object), source: 'custom' }),
    );
    await mountCard();
    byTestId('price-add').click();
    await settle();
    await typeInto(byTestId('price-model'), 'gpt-*');
    await setNumber('price-inputPerMTok', 1);
    await setNumber('price-outputPerMTok', 4);
    byTestId('price-submit').click();
    await settleErrors();
    expect(byTestId('price-dialog').textContent).toContain('no wildcards');
    expect(stub.calls.filter((c) => c.method === 'PUT')).toHaveLength(0);

    await typeInto(byTestId('price-model'), 'o9-mini');
    byTestId('price-submit').click();
    await settle(10);
    expect(stub.callsTo('PUT /api/prices/o9-mini')[0]?.body).toEqual({
      inputPerMTok: 1,
      outputPerMTok: 4,
      cachedInputPerMTok: null,
    });
  });

  it('resets a custom price with DELETE after confirmation and reloads the table', async () => {
    stub.on('DELETE /api/prices/my%2Fmodel%3Av1', () => {
      table = table.filter((p) => p.source !== 'custom');
      return new Response(null, { status: 204 });
    });
    const w = await mountCard();
    byTestId('price-reset-my/model:v1').click();
    await settle(10);
    expect(confirmAction).toHaveBeenCalledOnce();
    expect(w.text()).not.toContain('my/model:v1');
  });

  it('shows a refused save on the field the API names', async () => {
    stub.on(
      'PUT /api/prices/gpt-4o',
      apiError(400, 'VALIDATION_FAILED', 'The request is not valid', [
        { path: 'inputPerMTok', message: 'Number must be at most 1000000' },
      ]),
    );
    await mountCard();
    byTestId('price-edit-gpt-4o').click();
    await settle();
    byTestId('price-submit').click();
    await settleErrors();
    expect(byTestId('price-dialog').textContent).toContain('Number must be at most 1000000');
  });
});
