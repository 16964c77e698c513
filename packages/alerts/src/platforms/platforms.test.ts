import type { AlertPayload } from '@keyway/contracts';
import { alertPayloadSchema } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import type { AlertTarget } from '../types';
import { alertFormatters, dingtalkSign, feishuSign, keywaySignature } from './index';

const payload: AlertPayload = {
  event: 'group.exhausted',
  time: '2026-03-10T12:00:00.000Z',
  severity: 'critical',
  group: 'openai-main',
  key: 'sk-ab…9f3c',
  message: 'No usable API key in group openai-main <now> & later',
  details: { suppressed: 3 },
};
const NOW = 1_773_144_000_123;

function target(type: AlertTarget['type'], over: Partial<AlertTarget> = {}): AlertTarget {
  return {
    id: 1,
    name: 'ops',
    type,
    url: 'https://hooks.example.com/x/TOKEN123456',
    secret: null,
    chatId: null,
    ...over,
  };
}

const parse = (body: string) => JSON.parse(body) as Record<string, unknown>;

describe('signature algorithms (vectors computed with Python hmac/hashlib)', () => {
  it("signs Feishu's way: key = timestamp + \\n + secret, empty message, Base64", () => {
    expect(feishuSign('demo-secret', 1599360473)).toBe('3/MaVZ8JLIy4TUG+7KSFJqvUkTKd+HWY8g+56DZWq8s=');
  });
  it("signs DingTalk's way: key = secret over timestamp(ms) + \\n + secret, Base64", () => {
    expect(dingtalkSign('SEC1234567890abcdef', 1577808000000)).toBe(
      'XzjkqA5ZmZU+LASHIlaKHLQ3J+NZg59fMp0pFQil6+g=',
    );
  });
  it('signs the generic webhook as sha256=<hex HMAC-SHA256(secret, raw body)>', () => {
    expect(keywaySignature('topsecret', '{"event":"key.invalid"}')).toBe(
      'sha256=27b09fbcdfcd34b196697ee9c07d03187f0fb15317195b40145cf24976a23e5c',
    );
  });
});

describe('platform formats', () => {
  it('webhook: the API.md payload as is, signed when a secret is set', () => {
    const plain = alertFormatters.webhook.request(target('webhook'), payload, NOW);
    expect(alertPayloadSchema.parse(parse(plain.body))).toEqual(payload);
    expect(plain.headers['x-keyway-signature']).toBeUndefined();
    const signed = alertFormatters.webhook.request(target('webhook', { secret: 's3cret' }), payload, NOW);
    expect(signed.headers['x-keyway-signature']).toBe(keywaySignature('s3cret', signed.body));
    expect(alertFormatters.webhook.rejection(204, '')).toBeNull();
    expect(alertFormatters.webhook.rejection(500, 'x')).toBe('HTTP 500');
  });

  it('slack: text fallback plus header/section blocks, mrkdwn escaped', () => {
    const body = parse(alertFormatters.slack.request(target('slack'), payload, NOW).body);
    expect(body.text).toBe(`[CRITICAL] Group exhausted: ${payload.message}`);
    const blocks = body.blocks as Array<Record<string, unknown>>;
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'section']);
    expect(blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '[CRITICAL] Group exhausted' },
    });
    expect((blocks[1]?.text as { text: string }).text).toContain('&lt;now&gt; &amp; later');
    expect(alertFormatters.slack.rejection(200, 'ok')).toBeNull();
    expect(alertFormatters.slack.rejection(400, 'invalid_payload')).toBe('HTTP 400: invalid_payload');
  });

  it('feishu: msg_type text with content.text, timestamp (s) and sign only with a secret', () => {
    const plain = parse(alertFormatters.feishu.request(target('feishu'), payload, NOW).body);
    expect(Object.keys(plain)).toEqual(['msg_type', 'content']);
    expect(plain.msg_type).toBe('text');
    expect((plain.content as { text: string }).text).toContain('Group exhausted');
    const signed = parse(
      alertFormatters.feishu.request(target('feishu', { secret: 'demo-secret' }), payload, NOW).body,
    );
    const ts = Math.floor(NOW / 1000);
    expect(signed).toMatchObject({
      timestamp: String(ts),
      sign: feishuSign('demo-secret', ts),
      msg_type: 'text',
    });
    expect(alertFormatters.feishu.rejection(200, '{"code":0,"msg":"success","data":{}}')).toBeNull();
    expect(alertFormatters.feishu.rejection(200, '{"code":19021,"msg":"sign match fail","data":{}}')).toBe(
      'code 19021: sign match fail',
    );
    expect(alertFormatters.feishu.rejection(200, '{"StatusCode":0,"StatusMessage":"success"}')).toBeNull();
  });

  it('dingtalk: markdown msgtype with title and text; signing appends timestamp and sign to the query', () => {
    const url = 'https://oapi.dingtalk.com/robot/send?access_token=abc123token';
    const plain = alertFormatters.dingtalk.request(target('dingtalk', { url }), payload, NOW);
    expect(plain.url).toBe(url);
    const body = parse(plain.body);
    expect(body.msgtype).toBe('markdown');
    const md = body.markdown as { title: string; text: string };
    expect(Object.keys(md)).toEqual(['title', 'text']);
    expect(md.title).toBe('[CRITICAL] Group exhausted');
    expect(md.text.startsWith('### [CRITICAL] Group exhausted')).toBe(true);
    const signed = alertFormatters.dingtalk.request(
      target('dingtalk', { url, secret: 'SECabc' }),
      payload,
      NOW,
    );
    const u = new URL(signed.url);
    expect(u.searchParams.get('access_token')).toBe('abc123token');
    expect(u.searchParams.get('timestamp')).toBe(String(NOW));
    expect(u.searchParams.get('sign')).toBe(dingtalkSign('SECabc', NOW));
    expect(alertFormatters.dingtalk.rejection(200, '{"errcode":0,"errmsg":"ok"}')).toBeNull();
    expect(alertFormatters.dingtalk.rejection(200, '{"errcode":310000,"errmsg":"sign not match"}')).toBe(
      'errcode 310000: sign not match',
    );
  });

  it('wecom: markdown msgtype with content, within 4096 bytes', () => {
    const long = { ...payload, message: '警'.repeat(3000) };
    const body = parse(alertFormatters.wecom.request(target('wecom'), long, NOW).body);
    expect(body.msgtype).toBe('markdown');
    const content = (body.markdown as { content: string }).content;
    expect(content.startsWith('### [CRITICAL] Group exhausted')).toBe(true);
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(4096);
    expect(alertFormatters.wecom.rejection(200, '{"errcode":93000,"errmsg":"invalid webhook url"}')).toBe(
      'errcode 93000: invalid webhook url',
    );
  });

  it('telegram: sendMessage under the bot URL with chat_id, HTML text and parse_mode', () => {
    const t = target('telegram', { url: 'https://api.telegram.org/bot123:ABC/', chatId: '-1001' });
    const req = alertFormatters.telegram.request(t, payload, NOW);
    expect(req.url).toBe('https://api.telegram.org/bot123:ABC/sendMessage');
    const body = parse(req.body);
    expect(body).toMatchObject({ chat_id: '-1001', parse_mode: 'HTML' });
    expect(body.text).toContain('<b>[CRITICAL] Group exhausted</b>');
    expect(body.text).toContain('&lt;now&gt; &amp; later');
    expect(alertFormatters.telegram.rejection(200, '{"ok":true,"result":{}}')).toBeNull();
    expect(
      alertFormatters.telegram.rejection(
        400,
        '{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}',
      ),
    ).toBe('HTTP 400: Bad Request: chat not found');
  });
});
