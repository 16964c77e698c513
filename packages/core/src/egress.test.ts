import { describe, expect, it } from 'vitest';
import {
  checkConnectAddress,
  checkUpstreamUrl,
  classifyAddress,
  EGRESS_REFUSED_CODE,
  EgressRefusedError,
  parseIPv6,
} from './egress';

const open = { blockPrivate: false };
const closed = { blockPrivate: true };

describe('classifyAddress', () => {
  it.each([
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['[fd00:ec2:0::254]', 'metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['64:ff9b::169.254.169.254', 'metadata'],
    ['2002:a9fe:a9fe::1', 'metadata'],
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['224.0.0.1', 'non-unicast'],
    ['255.255.255.255', 'non-unicast'],
    ['ff02::1', 'non-unicast'],
    ['172.32.0.1', 'public'],
    ['8.8.8.8', 'public'],
    ['2606:4700::1111', 'public'],
    ['64:ff9b::8.8.8.8', 'public'],
  ])('classifies %s as %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it('says a name is not an address', () => {
    expect(classifyAddress('api.openai.com')).toBeNull();
    expect(classifyAddress('1.2.3')).toBeNull();
    expect(classifyAddress('01.2.3.4')).toBeNull();
    expect(parseIPv6('1::2::3')).toBeNull();
    expect(parseIPv6('1:2:3:4:5:6:7:8:9')).toBeNull();
  });
});

describe('checkUpstreamUrl', () => {
  it.each([
    'http://169.254.169.254/latest/meta-data',
    'http://2852039166/',
    'http://0xa9fea9fe/',
    'http://0251.0376.0251.0376/',
    'http://169.254.43518/',
    'http://[::ffff:169.254.169.254]/',
    'http://[fd00:ec2::254]/',
    'http://[fe80::1]/',
    'http://metadata.google.internal/computeMetadata/v1',
    'http://METADATA.GOOGLE.INTERNAL./',
    'http://metadata.goog/',
    'http://100.100.100.200/',
  ])('refuses the metadata or link-local URL %s even by default', (url) => {
    expect(checkUpstreamUrl(url, open)).toMatch(/never allowed/);
  });

  it.each([
    'http://127.0.0.1:8080',
    'http://localhost:11434',
    'http://10.0.0.5',
    'http://[::1]:9000',
    'http://0.0.0.0:8000',
    'http://2130706433:8000',
  ])('allows the local or private URL %s by default', (url) => {
    expect(checkUpstreamUrl(url, open)).toBeNull();
  });

  it.each([
    'http://127.0.0.1:8080',
    'http://localhost:11434',
    'http://api.localhost:11434',
    'http://10.0.0.5',
    'http://192.168.0.10',
    'http://[::1]:9000',
    'http://[::ffff:7f00:1]:9000',
    'http://0.0.0.0:8000',
    'http://2130706433:8000',
    'http://0x7f.1:8000',
  ])('refuses the local or private URL %s with egressBlockPrivate', (url) => {
    expect(checkUpstreamUrl(url, closed)).toMatch(/egressBlockPrivate/);
  });

  it('allows public addresses and names', () => {
    expect(checkUpstreamUrl('https://api.openai.com', closed)).toBeNull();
    expect(checkUpstreamUrl('https://8.8.8.8/v1', closed)).toBeNull();
  });

  it.each([
    'http://127.0.0.1:3001',
    'http://localhost:3001/v1',
    'http://[::1]:3001',
    'http://0.0.0.0:3001',
    'http://192.0.2.7:3001',
  ])('refuses %s: the gateway itself listens there', (url) => {
    const policy = { blockPrivate: false, self: { port: 3001, addresses: ['192.0.2.7'] } };
    expect(checkUpstreamUrl(url, policy)).toMatch(/this gateway itself/);
  });

  it('refuses the appUrl origin, and allows the same host on another port', () => {
    const policy = { blockPrivate: false, self: { port: 3001, origins: ['https://gw.example.com/'] } };
    expect(checkUpstreamUrl('https://gw.example.com/proxy/x', policy)).toMatch(/appUrl/);
    expect(checkUpstreamUrl('http://127.0.0.1:3002', policy)).toBeNull();
  });
});

describe('checkConnectAddress', () => {
  it('refuses a resolved metadata address whatever the name was', () => {
    expect(checkConnectAddress('169.254.169.254', 80, open)).toMatch(/169\.254\.169\.254/);
    expect(checkConnectAddress('::ffff:169.254.169.254', 80, open)).toMatch(/never allowed/);
  });

  it('refuses private addresses only with egressBlockPrivate', () => {
    expect(checkConnectAddress('127.0.0.1', 8080, open)).toBeNull();
    expect(checkConnectAddress('127.0.0.1', 8080, closed)).toMatch(/egressBlockPrivate/);
    expect(checkConnectAddress('10.0.0.1', 443, closed)).toMatch(/private/);
  });

  it("refuses the gateway's own port on this machine only", () => {
    const policy = { blockPrivate: false, self: { port: 3001, addresses: ['10.1.1.1'] } };
    expect(checkConnectAddress('127.0.0.1', 3001, policy)).toMatch(/itself/);
    expect(checkConnectAddress('10.1.1.1', 3001, policy)).toMatch(/itself/);
    expect(checkConnectAddress('10.1.1.2', 3001, policy)).toBeNull();
    expect(checkConnectAddress('127.0.0.1', 3002, policy)).toBeNull();
  });
});

describe('EgressRefusedError', () => {
  it('carries the code callers tell configuration failures by', () => {
    const e = new EgressRefusedError('x');
    expect(e.code).toBe(EGRESS_REFUSED_CODE);
    expect(e).toBeInstanceOf(Error);
  });
});
