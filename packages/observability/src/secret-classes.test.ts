import { Writable } from 'node:stream';
import { maskSecret } from '@keyway/core';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';
import { createMetrics } from './metrics';
import { SECRET_CLASS_NAMES } from './secret-classes';
import type { SecretClass } from './secret-classes';
import { SecretRegistry, secretsOf } from './secret-registry';

/** A value of each class in the shape it has in practice (a class added without one does not compile). */
const SAMPLES = {
  upstreamKey: 'sk-proj-FAKE0fake1FAKE2fake3FAKE4',
  proxyKey: 'team-a/proxy"key\\7Hq2xL9mV4nB',
  authKey: 'adm+in key=9f3c1a7e5b2d8046',
  encryptionKey: 'enc-6b1f0e9d2c7a4b3851e0f6a7',
  metricsToken: 'metrics-token-4e8a1c9b7d2f',
  alertChannel: 'https://hooks.slack.com/services/T0A1B2C3/B4D5E6F7/x9Y8z7W6v5U4t3S2',
} as const satisfies Record<SecretClass, string>;

/** Every form a secret takes when it is echoed: as is, in a query string, inside a JSON string. */
function echoes(secret: string): string {
  return [
    `plain ${secret}.`,
    `url ?k=${encodeURIComponent(secret)}&x=1`,
    `json ${JSON.stringify({ error: { message: `bad key ${secret}` } })}`,
  ].join('\n');
}

function forms(secret: string): string[] {
  return [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
}

describe.each(SECRET_CLASS_NAMES)('a registered %s', (secretClass) => {
  const secret = SAMPLES[secretClass];

  it('is masked in error text in every form it is echoed in', () => {
    const registry = new SecretRegistry();
    registry.add(secret, secretClass);
    const out = registry.maskText(echoes(secret));
    for (const f of forms(secret)) expect(out).not.toContain(f);
    expect(out).toContain(maskSecret(secret));
    expect(registry.classOf(secret)).toBe(secretClass);
  });

  it('is masked in log lines, whatever field it hides in', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'info', format: 'json', destination });
    logger.registerSecret(secret, secretClass);
    logger.info({ note: echoes(secret), nested: { deep: [secret] } }, `message ${secret}`);
    logger.warn({ err: new Error(`upstream said ${secret}`) }, 'failed');
    expect(lines).toHaveLength(2);
    for (const line of lines) for (const f of forms(secret)) expect(line).not.toContain(f);
  });

  it('is redacted in a log field named after its class, even unregistered', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    createLogger({ level: 'info', format: 'json', destination }).info(
      { [secretClass]: secret },
      'configured',
    );
    expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain(`"${secretClass}":"[redacted]"`);
  });

  it('never becomes a metric label value', () => {
    const secrets = new SecretRegistry();
    secrets.add(secret, secretClass);
    const metrics = createMetrics({ secrets });
    metrics.counter('keyway_test_total', 'test', ['group']).inc({ group: secret });
    expect(metrics.render()).not.toContain(secret);
  });

  it('is masked when it is only known to the one request (not registered)', () => {
    const out = new SecretRegistry().maskText(echoes(secret), [secret]);
    for (const f of forms(secret)) expect(out).not.toContain(f);
  });
});

describe('SecretRegistry.maskText', () => {
  it('also scrubs key-shaped material nobody registered (bearer tokens, ?key=, provider key formats)', () => {
    const out = new SecretRegistry().maskText(
      'Bearer abcdefghijklmnop, ?key=AIzaSyFAKE4567890abcdefghijklmnopqrstu and sk-ant-api03-abcdefghijklmnopqrstuvwxyz',
    );
    expect(out).not.toContain('abcdefghijklmnop,');
    expect(out).not.toContain('AIzaSyFAKE4567890abcdefghijklmnopqrstu');
    expect(out).not.toContain('sk-ant-api03-abcdefghijklmnopqrstuvwxyz');
  });

  it('masks a longer per-request secret before a registered one inside it', () => {
    const registry = new SecretRegistry(['inner-secret-1234']);
    const outer = 'outer-inner-secret-1234-tail';
    const out = registry.maskText(`x ${outer} y`, [outer]);
    expect(out).toBe(`x ${maskSecret(outer)} y`);
  });

  it('keeps an echoing JSON error body valid JSON, even when the mask itself holds a quote', () => {
    for (const secret of ['q"uo\\te-secret-0123456789', 'plain-secret-0123456789']) {
      for (const registry of [new SecretRegistry([secret]), new SecretRegistry()]) {
        const body = JSON.stringify({ error: { message: `bad key ${secret}` } });
        const out = registry.maskText(body, [secret]);
        expect(JSON.parse(out)).toEqual({ error: { message: `bad key ${maskSecret(secret)}` } });
      }
    }
  });

  it('keeps text without secrets as it is', () => {
    const registry = new SecretRegistry(Object.values(SAMPLES));
    expect(registry.maskText('upstream answered 500: overloaded')).toBe('upstream answered 500: overloaded');
    expect(registry.maskNullable(null)).toBeNull();
  });

  it('masks every class at once, also with a registry large enough to use the rolling-hash matcher', () => {
    const many = Array.from({ length: 200 }, (_, i) => `filler-secret-${i.toString().padStart(6, '0')}`);
    for (const registry of [new SecretRegistry(), new SecretRegistry(many)]) {
      for (const c of SECRET_CLASS_NAMES) registry.add(SAMPLES[c], c);
      const out = registry.maskText(SECRET_CLASS_NAMES.map((c) => echoes(SAMPLES[c])).join('\n'));
      for (const c of SECRET_CLASS_NAMES) for (const f of forms(SAMPLES[c])) expect(out).not.toContain(f);
    }
  });
});

describe('secretsOf', () => {
  it("returns a createLogger logger's registry, and an empty one for any other logger", () => {
    const logger = createLogger({ level: 'silent', format: 'json' });
    logger.registerSecret('registered-secret-value', 'authKey');
    expect(secretsOf(logger).maskText('x registered-secret-value')).toBe(
      `x ${maskSecret('registered-secret-value')}`,
    );
    expect(secretsOf({ info() {} }).size).toBe(0);
    expect(secretsOf(undefined).maskText('x sk-abcdefghijklmnopqrstuvwxyz', [])).not.toContain(
      'sk-abcdefghijklmnop',
    );
  });
});
