import { describe, expect, it } from 'vitest';
import { booleanFromEnv, intFromEnv, parseIpOrCidr, parseOrigin, portSchema } from './primitives';

describe('booleanFromEnv', () => {
  const schema = booleanFromEnv(true);

  it.each(['true', 'TRUE', '1', 'yes', 'Yes', 'on', ' on '])('reads %j as true', (v) => {
    expect(booleanFromEnv(false).parse(v)).toBe(true);
  });

  it.each(['false', 'False', '0', 'no', 'NO', 'off'])('reads %j as false', (v) => {
    expect(schema.parse(v)).toBe(false);
  });

  it('uses the default when unset', () => {
    expect(booleanFromEnv(true).parse(undefined)).toBe(true);
    expect(booleanFromEnv(false).parse(undefined)).toBe(false);
  });

  it.each(['maybe', 'truthy', '2', 'enabled', 'y'])(
    'refuses %j with a message listing the accepted words',
    (v) => {
      const r = schema.safeParse(v);
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.message).toBe('must be one of true/false, 1/0, yes/no, on/off');
    },
  );
});

describe('intFromEnv and portSchema', () => {
  it('parses integers within range, with surrounding spaces and a sign', () => {
    const s = intFromEnv(5, { min: -10, max: 10 });
    expect(s.parse('7')).toBe(7);
    expect(s.parse(' -3 ')).toBe(-3);
    expect(s.parse('+10')).toBe(10);
    expect(s.parse(undefined)).toBe(5);
  });

  it.each(['1e3', '1.0', '0x10', '', 'abc', '12abc', '99999999999999999999'])('refuses %j', (v) => {
    expect(intFromEnv(1).safeParse(v).success).toBe(false);
  });

  it('words the message by the bounds given', () => {
    const message = (s: ReturnType<typeof intFromEnv>) => s.safeParse('x').error?.issues[0]?.message;
    expect(message(intFromEnv(1, { min: 1, max: 9 }))).toBe('must be an integer between 1 and 9');
    expect(message(intFromEnv(1, { min: 1 }))).toBe('must be an integer of at least 1');
    expect(message(intFromEnv(1, { max: 9 }))).toBe('must be an integer of at most 9');
    expect(message(intFromEnv(1))).toBe('must be an integer');
  });

  it('enforces the bounds inclusively', () => {
    const s = intFromEnv(1, { min: 1, max: 3 });
    expect(s.safeParse('1').success).toBe(true);
    expect(s.safeParse('3').success).toBe(true);
    expect(s.safeParse('0').success).toBe(false);
    expect(s.safeParse('4').success).toBe(false);
  });

  it('portSchema accepts 1–65535 and defaults', () => {
    expect(portSchema(3001).parse(undefined)).toBe(3001);
    expect(portSchema(3001).parse('65535')).toBe(65535);
    expect(portSchema(3001).safeParse('0').success).toBe(false);
    expect(portSchema(3001).safeParse('65536').success).toBe(false);
  });
});

describe('parseIpOrCidr', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['::1', '::1'],
    ['FD00::/8', 'fd00::/8'],
    ['192.168.1.0/024', '192.168.1.0/24'],
  ])('accepts %s', (input, out) => {
    expect(parseIpOrCidr(input)).toBe(out);
  });

  it.each(['localhost', '10.0.0.256', '10.0.0.0/33', '::1/129', '10.0.0.0/', '10.0.0.0/a', '1.2.3'])(
    'refuses %s',
    (input) => {
      expect(parseIpOrCidr(input)).toBeNull();
    },
  );
});

describe('parseOrigin', () => {
  it.each([
    ['https://console.example.com', 'https://console.example.com'],
    ['https://console.example.com/', 'https://console.example.com'],
    ['http://localhost:5173', 'http://localhost:5173'],
    ['https://Example.COM:443', 'https://example.com'],
    ['*', '*'],
  ])('accepts %s', (input, out) => {
    expect(parseOrigin(input)).toBe(out);
  });

  it.each([
    'example.com',
    'https://example.com/path',
    'https://example.com?x=1',
    'https://example.com#top',
    'https://user:pw@example.com',
    'ftp://example.com',
    'https://',
  ])('refuses %s', (input) => {
    expect(parseOrigin(input)).toBeNull();
  });
});
