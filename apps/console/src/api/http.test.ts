import { groupSchema } from '@keyway/contracts';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { apiError, json, stubFetch } from '../testing/fetch-stub';
import { group } from '../testing/fixtures';
import { createGroupsApi } from './groups';
import { ApiError, createHttp } from './http';
import { createKeysApi } from './keys';

function client(routes: Parameters<typeof stubFetch>[0] = {}, baseUrl = '') {
  const stub = stubFetch(routes);
  const hooks = {
    onUnauthorized: vi.fn(),
    onError: vi.fn(),
    headers: () => ({ 'accept-language': 'zh-CN' }),
  };
  const http = createHttp({ baseUrl, fetch: stub.fetch, hooks });
  return { stub, hooks, http };
}

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const e: unknown = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(e)}`);
  return e;
}

describe('createHttp', () => {
  it('parses a response with the contracts schema and sends same-origin credentials', async () => {
    const { stub, http } = client({ 'GET /api/groups/1': json(group()) });
    const g = await http.json('GET', '/api/groups/1', groupSchema);
    expect(g.name).toBe('openai');
    const [call] = stub.calls;
    expect(call?.init.credentials).toBe('same-origin');
    expect((call?.init.headers as Record<string, string>)['accept-language']).toBe('zh-CN');
  });

  it('prefixes the base URL and leaves blank query values out', async () => {
    const { stub, http } = client({ 'GET /base/api/logs': json({ ok: true }) }, '/base/');
    await http.json('GET', '/api/logs', z.object({ ok: z.boolean() }), {
      query: { page: 2, model: '', keyId: undefined, groupId: null, result: 'error' },
    });
    expect(stub.calls[0]?.url).toBe('/base/api/logs?page=2&result=error');
  });

  it('sends bodies as JSON', async () => {
    const { stub, http } = client({ 'POST /api/groups': json(group(), 201) });
    await http.json('POST', '/api/groups', groupSchema, { body: { name: 'openai' } });
    expect(stub.calls[0]?.body).toEqual({ name: 'openai' });
    expect((stub.calls[0]?.init.headers as Record<string, string>)['content-type']).toBe('application/json');
  });

  it('turns the error envelope into an ApiError with code, message, status and field errors', async () => {
    const details = [
      { path: 'upstreams.0.url', message: 'Invalid URL' },
      { path: 'name', message: 'taken' },
      { path: 'name', message: 'second message for the same field' },
    ];
    const { http, hooks } = client({
      'POST /api/groups': apiError(400, 'VALIDATION_FAILED', 'The request is not valid', details),
    });
    const e = await failure(http.json('POST', '/api/groups', groupSchema, { body: {} }));
    expect(e).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', message: 'The request is not valid' });
    expect(e.fieldErrors()).toEqual({ 'upstreams.0.url': 'Invalid URL', name: 'taken' });
    expect(hooks.onError).toHaveBeenCalledWith(e);
    expect(hooks.onUnauthorized).not.toHaveBeenCalled();
  });

  it('maps a non-JSON error page to a code from its status', async () => {
    const { http } = client({
      'GET /api/settings': new Response('<html>Bad gateway</html>', { status: 409 }),
    });
    const e = await failure(http.json('GET', '/api/settings', z.unknown()));
    expect(e).toMatchObject({ status: 409, code: 'CONFLICT' });
    // A reverse proxy's own refusal (or the API's CSRF guard seen through one) is still FORBIDDEN.
    const forbidden = client({ 'POST /api/groups': new Response('Forbidden', { status: 403 }) });
    const f = await failure(forbidden.http.json('POST', '/api/groups', z.unknown(), { body: {} }));
    expect(f).toMatchObject({ status: 403, code: 'FORBIDDEN' });
  });

  it('reports a network failure as NETWORK', async () => {
    const hooks = { onError: vi.fn() };
    const http = createHttp({ fetch: () => Promise.reject(new TypeError('Failed to fetch')), hooks });
    const e = await failure(http.send('GET', '/api/auth/session'));
    expect(e).toMatchObject({ status: 0, code: 'NETWORK' });
    expect(hooks.onError).toHaveBeenCalledOnce();
  });

  it('refuses a response that does not match the schema (BAD_RESPONSE) instead of passing it on', async () => {
    const { http, hooks } = client({ 'GET /api/groups/1': json({ ...group(), keyStats: 'many' }) });
    const e = await failure(http.json('GET', '/api/groups/1', groupSchema));
    expect(e.code).toBe('BAD_RESPONSE');
    expect(hooks.onError).toHaveBeenCalledWith(e);
  });

  it('calls the 401 hook (not the error toast) when the session is gone', async () => {
    const { http, hooks } = client({
      'GET /api/groups': apiError(401, 'UNAUTHORIZED', 'Authentication required'),
    });
    const e = await failure(http.json('GET', '/api/groups', z.unknown()));
    expect(e.status).toBe(401);
    expect(hooks.onUnauthorized).toHaveBeenCalledWith(e);
    expect(hooks.onError).not.toHaveBeenCalled();
  });

  it('does not treat a wrong login key as an expired session', async () => {
    const { http, hooks } = client({
      'POST /api/auth/login': apiError(401, 'UNAUTHORIZED', 'Wrong admin key'),
    });
    const e = await failure(
      http.send('POST', '/api/auth/login', { body: { authKey: 'x' }, auth: false, silent: true }),
    );
    expect(e.message).toBe('Wrong admin key');
    expect(hooks.onUnauthorized).not.toHaveBeenCalled();
    expect(hooks.onError).not.toHaveBeenCalled();
  });

  it('downloads files with the name the server suggests', async () => {
    const { http } = client({
      'GET /api/groups/3/keys/export': new Response('k1\nk2\n', {
        headers: { 'content-disposition': 'attachment; filename="keys-group-3-invalid.txt"' },
      }),
    });
    const file = await http.download('/api/groups/3/keys/export', { query: { status: 'invalid' } });
    expect(file.filename).toBe('keys-group-3-invalid.txt');
    expect(await file.blob.text()).toBe('k1\nk2\n');
  });
});

describe('resource clients', () => {
  it('returns the task id of a large key import (202)', async () => {
    const { http } = client({ 'POST /api/groups/1/keys': json({ taskId: 'key-import:42' }, 202) });
    expect(await createKeysApi(http).add(1, 'k1\nk2')).toEqual({ taskId: 'key-import:42' });
  });

  it('returns the counts of a small key import', async () => {
    const { http } = client({ 'POST /api/groups/1/keys': json({ added: 2, ignored: 1, total: 5 }) });
    expect(await createKeysApi(http).add(1, 'k1 k2 k3')).toEqual({ added: 2, ignored: 1, total: 5 });
  });

  it('lists groups from the `items` envelope', async () => {
    const { http } = client({ 'GET /api/groups': json({ items: [group(), group({ id: 2, name: 'b' })] }) });
    expect((await createGroupsApi(http).list()).map((g) => g.name)).toEqual(['openai', 'b']);
  });
});
