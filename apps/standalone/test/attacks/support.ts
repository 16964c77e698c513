/**
 * Shared helpers of the attack regression suite: a standalone process (default settings) in a throw-away data
 * directory, talking to a fake upstream, with an admin client, a session cookie and a group holding a key.
 */
import { randomBytes } from 'node:crypto';
import { startFakeUpstream } from '@keyway/testing';
import type { FakeUpstream, ManagedProcess } from '@keyway/testing';
import { adminClient, startStandalone, tempDir } from '../harness';

/** A random string of `n` URL-safe characters: strong enough for every secret check, unique per test. */
export function randomSecret(prefix = '', n = 32): string {
  return prefix + randomBytes(n).toString('base64url').slice(0, n);
}

export interface AttackTarget {
  /** `http://127.0.0.1:PORT` of the standalone process. */
  url: string;
  port: number;
  proc: ManagedProcess;
  authKey: string;
  admin: ReturnType<typeof adminClient>;
  /** The fake upstream, unless `upstreamUrl` was given. */
  fake: FakeUpstream | undefined;
  /** Base URL groups created by {@link createGroupWithKey} point at by default. */
  upstreamUrl: string;
  /** Stops the process and the fake, removes the data directory. */
  close(): Promise<void>;
}

/**
 * Starts standalone with default settings (plus `env`) and a strong random `AUTH_KEY`, and a fake upstream
 * unless `upstreamUrl` names another one.
 */
export async function startTarget(
  options: { label?: string; env?: Record<string, string | undefined>; upstreamUrl?: string } = {},
): Promise<AttackTarget> {
  const fake = options.upstreamUrl ? undefined : await startFakeUpstream();
  const tmp = tempDir(options.label ?? 'attack');
  const authKey = options.env?.['AUTH_KEY'] ?? randomSecret('admin-');
  try {
    const app = await startStandalone(tmp.dir, { AUTH_KEY: authKey, ...options.env });
    return {
      ...app,
      authKey,
      admin: adminClient(app.url, authKey),
      fake,
      upstreamUrl: options.upstreamUrl ?? (fake as FakeUpstream).url,
      async close() {
        await app.proc.stop();
        await fake?.close();
        tmp.cleanup();
      },
    };
  } catch (e) {
    await fake?.close();
    tmp.cleanup();
    throw e;
  }
}

/** Logs in with the admin key; returns the `Cookie` header value of the session. */
export async function login(target: Pick<AttackTarget, 'url' | 'authKey'>): Promise<string> {
  const res = await fetch(`${target.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: target.url },
    body: JSON.stringify({ authKey: target.authKey }),
  });
  if (res.status !== 204) throw new Error(`login answered ${res.status}: ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0] ?? '');
  if (cookie.length === 0) throw new Error('login set no cookie');
  return cookie.join('; ');
}

export interface CreatedGroup {
  id: number;
  name: string;
  proxyKey: string;
  upstreamKey: string;
  /** `${url}/proxy/${name}` */
  endpoint: string;
}

/**
 * Creates a standard OpenAI group with one proxy key and one upstream key (random unless given), pointing at the
 * target's upstream. `group` adds or overrides create fields.
 */
export async function createGroupWithKey(
  target: Pick<AttackTarget, 'url' | 'admin' | 'upstreamUrl'>,
  options: { name?: string; proxyKey?: string; upstreamKey?: string; group?: Record<string, unknown> } = {},
): Promise<CreatedGroup> {
  const name = options.name ?? `g${randomBytes(4).toString('hex')}`;
  const proxyKey = options.proxyKey ?? randomSecret('proxy-');
  const upstreamKey = options.upstreamKey ?? randomSecret('sk-', 48);
  const created = await target.admin.post('/groups', {
    name,
    channel: 'openai',
    upstreams: [{ url: target.upstreamUrl, weight: 1 }],
    testModel: 'gpt-4.1-nano',
    proxyKeys: [proxyKey],
    ...options.group,
  });
  if (created.status !== 201)
    throw new Error(`group create answered ${created.status}: ${JSON.stringify(created.body)}`);
  const id = created.body['id'] as number;
  const added = await target.admin.post(`/groups/${id}/keys`, { keys: [upstreamKey] });
  if (added.status !== 200)
    throw new Error(`key add answered ${added.status}: ${JSON.stringify(added.body)}`);
  return { id, name, proxyKey, upstreamKey, endpoint: `${target.url}/proxy/${name}` };
}

/** One OpenAI chat completion through the proxy; returns status, headers and body text. */
export async function chat(
  group: Pick<CreatedGroup, 'endpoint' | 'proxyKey'>,
  body: Record<string, unknown> = {},
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${group.endpoint}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${group.proxyKey}`,
      'content-type': 'application/json',
      ...init.headers,
    },
    body: JSON.stringify({ model: 'gpt-4.1-nano', messages: [{ role: 'user', content: 'hi' }], ...body }),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
