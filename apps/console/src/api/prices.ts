import { priceListSchema, priceSchema } from '@keyway/contracts';
import type { Price, PriceInput } from '@keyway/contracts';
import type { Http } from './http';

const path = (model: string) => `/api/prices/${encodeURIComponent(model)}`;

/** `/api/prices`: USD per million tokens; a PUT makes an entry custom, a DELETE goes back to the default. */
export function createPricesApi(http: Http) {
  return {
    list: async (): Promise<Price[]> => (await http.json('GET', '/api/prices', priceListSchema)).items,
    // Silent: the dialog shows validation errors on its fields.
    save: (model: string, body: PriceInput): Promise<Price> =>
      http.json('PUT', path(model), priceSchema, { body, silent: true }),
    reset: (model: string): Promise<void> => http.send('DELETE', path(model)),
  };
}
