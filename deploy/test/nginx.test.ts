// deploy/nginx/nginx.conf: routing to the compose services, streaming settings, and (when nginx is installed)
// `nginx -t` plus a real nginx in front of fake upstreams.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeServices, dockerfileOf } from './compose';
import { bytes, children, type Directive, inherited, parseNginx, seconds } from './nginx';
import { readText, requireTool, run } from './support';

const CONFIG = 'deploy/nginx/nginx.conf';
/** The location of the data plane: `/proxy/…` and the key-routed endpoints `/v1`, `/v1beta`. */
const DATA_PLANE = '~ ^/(proxy/|v1(beta)?(/|$))';
const conf = parseNginx(readText(CONFIG));
const http = children(conf, 'http')[0]?.block;
const server = children(http, 'server')[0]?.block;
const upstreams = new Map(children(http, 'upstream').map((u) => [u.args[0]!, u.block ?? []]));

function location(path: string): Directive[] | undefined {
  return children(server, 'location').find((l) => l.args.join(' ') === path)?.block;
}

/** `host:port` of an upstream's servers. */
function upstreamServers(name: string): { host: string; port: string; params: string[] }[] {
  return children(upstreams.get(name), 'server').map((s) => {
    const [host, port] = s.args[0]!.split(':');
    return { host: host!, port: port ?? '80', params: s.args.slice(1) };
  });
}

/** The upstream a location proxies to (`proxy_pass http://keyway_gateway`). */
function target(path: string): string | undefined {
  return children(location(path), 'proxy_pass')[0]?.args[0]?.replace(/^http:\/\//, '');
}

describe('deploy/nginx/nginx.conf', () => {
  it('sends /proxy/, /v1 and /v1beta to the gateway replicas and everything else to the control plane', () => {
    const services = composeServices();
    for (const [path, dockerfile] of [
      [DATA_PLANE, 'deploy/gateway/Dockerfile'],
      ['/', 'deploy/control-plane/Dockerfile'],
    ] as const) {
      const servers = upstreamServers(target(path) ?? '');
      expect(servers.length, `${path} proxies to an upstream with servers`).toBeGreaterThan(0);
      for (const s of servers) {
        const service = services.get(s.host);
        expect(service, `upstream host ${s.host} is a compose service`).toBeDefined();
        expect(dockerfileOf(service!)).toBe(dockerfile);
        expect(service!.env.get('PORT'), `${s.host} listens on ${s.port}`).toBe(s.port);
      }
    }
    expect(children(location('= /metrics'), 'return')[0]?.args).toEqual(['404']);
  });

  it('re-resolves the replicas through Docker DNS as they come and go', () => {
    expect(children(http, 'resolver')[0]?.args[0]).toBe('127.0.0.11');
    for (const [name, block] of upstreams) {
      expect(children(block, 'zone').length, `upstream ${name} has a shared zone`).toBe(1);
      for (const s of upstreamServers(name)) expect(s.params, `${name} ${s.host}`).toContain('resolve');
    }
  });

  it('streams the data plane both ways over kept-alive HTTP/1.1 connections, with long timeouts', () => {
    const scopes = [location(DATA_PLANE), server, http];
    expect(inherited(scopes, 'proxy_buffering')).toEqual(['off']);
    expect(inherited(scopes, 'proxy_request_buffering')).toEqual(['off']);
    expect(seconds(inherited(scopes, 'proxy_read_timeout')?.[0] ?? '60s')).toBeGreaterThanOrEqual(300);
    expect(inherited(scopes, 'proxy_http_version')).toEqual(['1.1']);
    const headers = children(server, 'proxy_set_header').map((d) => d.args);
    expect(headers).toContainEqual(['Connection', '']);
    expect(Number(children(upstreams.get('keyway_gateway'), 'keepalive')[0]?.args[0] ?? 0)).toBeGreaterThan(
      0,
    );
    expect(bytes(inherited(scopes, 'client_max_body_size')?.[0] ?? '1m')).toBeGreaterThanOrEqual(
      50 * 1024 ** 2,
    );
  });

  it('keeps proxy keys sent as ?key= out of the access log', () => {
    const [, formatName] = children(http, 'access_log')[0]?.args ?? [];
    const format = children(http, 'log_format').find((f) => f.args[0] === formatName);
    expect(format, 'access_log names a log_format of this file').toBeDefined();
    expect(format!.args.slice(1).join('')).not.toMatch(/\$(request|request_uri|args|query_string|arg_key)\b/);
  });
});

// --- with a real nginx -------------------------------------------------------------------------------------

const nginxVersion = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(run('nginx', ['-v']).stderr);
const hasNginx = requireTool('nginx', nginxVersion !== null, 'apt-get install nginx-light');

/** The config with upstream hosts replaced (`host` → `address`) and `listen` moved to a local port. */
function localConfig(dir: string, listen: number, addresses: Map<string, string>): string {
  const [major, minor, patch] = nginxVersion!.slice(1).map(Number) as [number, number, number];
  // `resolve` on upstream servers came with nginx 1.27.3; Debian 12 has 1.22. Without it the rest still checks.
  const knowsResolve = major * 1e6 + minor * 1e3 + patch >= 1_027_003;
  let text = readText(CONFIG).replace(/\blisten\s+80;/, `listen 127.0.0.1:${listen};`);
  for (const [host, address] of addresses) {
    text = text.replace(new RegExp(`server ${host}:\\d+`, 'g'), `server ${address}`);
  }
  if (!knowsResolve) text = text.replace(/(server \S+) resolve;/g, '$1;');
  // Node's child stdio are sockets, which /dev/stdout cannot be opened on (Docker's are pipes): log to files.
  text = text.replace('/dev/stderr', join(dir, 'error.log')).replace('/dev/stdout', join(dir, 'access.log'));
  text = text.replace(
    /http \{/,
    `http {\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;`,
  );
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, text);
  return file;
}

describe.skipIf(!hasNginx)('nginx with deploy/nginx/nginx.conf', { timeout: 10_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyway-nginx-'));
  let nginx: ChildProcess | undefined;
  let nginxLog = '';
  let port = 0;
  let args: string[] = [];
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));

  // The fake gateway sends one SSE event, then holds the stream open until the test has received it.
  let firstPart: () => void = () => {};
  const firstPartArrived = new Promise<void>((resolve) => (firstPart = resolve));
  const gateway = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    if (req.method === 'POST') {
      // Echoes the body, telling the test when its first part is here (the rest is not sent until then).
      let body = '';
      req.on('data', (d: Buffer) => ((body += d.toString()), firstPart()));
      req.on('end', () => res.end(`got ${body}`));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    // An event after the headers, not read together with them (nginx passes that first read on unbuffered).
    setTimeout(() => res.write('data: first\n\n'), 50);
    void released.then(() => res.end('data: [DONE]\n\n'));
  });
  const controlPlane = createServer((req, res) => res.end(`control-plane ${req.url}`));

  const listen = (s: Server) =>
    new Promise<number>((resolve) =>
      s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)),
    );

  beforeAll(async () => {
    const addresses = new Map([
      ['gateway', `127.0.0.1:${await listen(gateway)}`],
      ['control-plane', `127.0.0.1:${await listen(controlPlane)}`],
    ]);
    const probe = createServer();
    port = await listen(probe);
    await new Promise((resolve) => probe.close(resolve));
    args = ['-c', localConfig(dir, port, addresses), '-p', dir, '-e', join(dir, 'error.log')];
    nginx = spawn('nginx', [...args, '-g', `daemon off; pid ${dir}/nginx.pid;`]);
    nginx.stdout?.on('data', (d: Buffer) => (nginxLog += d.toString()));
    nginx.stderr?.on('data', (d: Buffer) => (nginxLog += d.toString()));
    for (let i = 0; i < 100; i++) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = createConnection(port, '127.0.0.1', () => resolve(socket.end() && true));
        socket.on('error', () => resolve(false));
      });
      if (open) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`nginx did not start:\n${nginxLog}${readFileSync(join(dir, 'error.log'), 'utf8')}`);
  });

  afterAll(async () => {
    release();
    nginx?.kill('SIGTERM');
    await Promise.all([gateway, controlPlane].map((s) => new Promise((resolve) => s.close(resolve))));
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path, headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on('error', reject)
        .end();
    });

  it('passes nginx -t', () => {
    const check = run('nginx', ['-t', ...args, '-g', `pid ${dir}/check.pid;`]);
    expect(check.stderr).toContain('test is successful');
    expect(check.status).toBe(0);
  });

  it('answers the console and /api from the control plane, and hides /metrics', async () => {
    expect(await get('/api/groups')).toEqual({ status: 200, body: 'control-plane /api/groups' });
    expect(await get('/')).toEqual({ status: 200, body: 'control-plane /' });
    expect((await get('/metrics')).status).toBe(404);
    expect((await get('/nginx-health')).status).toBe(200);
  });

  it('relays a gateway stream chunk by chunk, with the real client address and no key in its log', async () => {
    const first = await new Promise<string>((resolve, reject) => {
      const headers = { 'x-forwarded-for': '203.0.113.9' };
      request(
        { host: '127.0.0.1', port, path: '/proxy/g/v1/chat?key=sk-secret-proxy-key', headers },
        (res) => {
          // The upstream holds the rest of the stream back until this first event is here.
          res.once('data', (d: Buffer) => resolve(d.toString()));
          res.on('end', () => undefined);
        },
      )
        .on('error', reject)
        .end();
    });
    expect(first).toContain('data: first');
    release();
    expect(seen.at(-1)?.url).toBe('/proxy/g/v1/chat?key=sk-secret-proxy-key');
    expect(seen.at(-1)?.headers['x-forwarded-for']).toBe('127.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const accessLog = readFileSync(join(dir, 'access.log'), 'utf8');
    expect(accessLog).toContain('/proxy/g/v1/chat');
    expect(accessLog).not.toContain('sk-secret-proxy-key');
  });

  it('sends the key-routed endpoints to the gateway (whole segments only), keeping ?key= out of the log', async () => {
    release(); // the fake gateway's GET streams end at once
    for (const path of ['/v1/models', '/v1', '/v1beta', '/v1beta/models?key=AIza-secret-proxy-key']) {
      const before = seen.length;
      expect((await get(path)).status, path).toBe(200);
      expect(seen.length, `${path} reached the gateway`).toBe(before + 1);
      expect(seen.at(-1)?.url).toBe(path);
    }
    expect(await get('/v1x-report')).toEqual({ status: 200, body: 'control-plane /v1x-report' });
    expect(await get('/v1betamax')).toEqual({ status: 200, body: 'control-plane /v1betamax' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(readFileSync(join(dir, 'access.log'), 'utf8')).not.toContain('AIza-secret-proxy-key');
  });

  it('passes a request body on to the gateway as it arrives', async () => {
    const answer = new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/proxy/g/v1/files', method: 'POST' }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      }).on('error', reject);
      req.write('part one, ');
      // With request buffering nginx would wait for the whole body first, and this would never resolve.
      void firstPartArrived.then(() => req.end('part two'));
    });
    expect(await answer).toBe('got part one, part two');
  });
});
