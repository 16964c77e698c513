import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { buildOpenApi } from './openapi';
import { routeDocs } from './openapi';
import type { Fixture } from './testing/fixture';
import { createFixture } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());

/** Hono's `/:id` → OpenAPI's `{id}`. */
const toOpenApi = (path: string) => path.replace(/:(\w+)/g, '{$1}');

describe('OpenAPI document', () => {
  it('documents exactly the routes the app implements', () => {
    const implemented = new Set(
      fx.app.routes
        .filter((r) => r.path.startsWith('/api/') && r.method !== 'ALL' && !r.path.includes('*'))
        .map((r) => `${r.method.toLowerCase()} ${toOpenApi(r.path)}`),
    );
    const documented = new Set(routeDocs.map((d) => `${d.method} ${d.path}`));
    expect(
      [...implemented].filter((r) => !documented.has(r)),
      'implemented but undocumented',
    ).toEqual([]);
    expect(
      [...documented].filter((r) => !implemented.has(r)),
      'documented but missing',
    ).toEqual([]);
  });

  it('is served behind the admin key as OpenAPI 3.1 with request schemas from the zod contracts', async () => {
    expect((await fx.req('GET', '/api/openapi.json', undefined, { auth: false })).status).toBe(401);
    const res = await fx.req<ReturnType<typeof buildOpenApi>>('GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe('3.1.0');
    const paths = res.json.paths as Record<
      string,
      Record<
        string,
        { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } }
      >
    >;
    const create = paths['/api/groups']?.post?.requestBody?.content['application/json']?.schema;
    expect(Object.keys(create?.properties ?? {})).toEqual(
      expect.arrayContaining(['name', 'channel', 'upstreams', 'proxyKeys']),
    );
  });
});
