import type { AlertChannel } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { buildChannelCreate, buildChannelPatch, emptyChannelForm, formFromChannel } from './alert-form';

const saved: AlertChannel = {
  id: 3,
  name: 'ops',
  type: 'feishu',
  url: 'https://open.feishu.cn/…',
  hasSecret: true,
  chatId: null,
  events: ['group.exhausted'],
  enabled: true,
  createdAt: '2026-12-06T00:00:00.000Z',
  updatedAt: '2026-12-06T00:00:00.000Z',
};

describe('alert channel form', () => {
  it('builds a create body with every event by default and no secret for types without one', () => {
    const f = {
      ...emptyChannelForm(),
      name: ' slack ',
      type: 'slack' as const,
      url: 'https://hooks.slack.com/services/T/B/x',
      secret: 'ignored',
    };
    const r = buildChannelCreate(f);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.body).toMatchObject({ name: 'slack', type: 'slack', secret: null, chatId: null, enabled: true });
    expect(r.body.events.length).toBe(9);
  });

  it('asks a telegram channel for its chat id and refuses a URL with a line break', () => {
    const r = buildChannelCreate({
      ...emptyChannelForm(),
      name: 't',
      type: 'telegram',
      url: 'https://api.telegram.org/bot1:x',
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(Object.keys(r.errors)).toContain('chatId');
    const bad = buildChannelCreate({ ...emptyChannelForm(), name: 'w', url: 'https://x.example.com/a\r\nb' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(Object.keys(bad.errors)).toContain('url');
  });

  it('keeps the stored URL and secret on edit unless typed or cleared', () => {
    const f = formFromChannel(saved);
    expect(f.url).toBe('');
    const keep = buildChannelPatch({ ...f, events: ['group.exhausted', 'key.invalid'] }, saved);
    expect(keep.ok && keep.body).toEqual({
      name: 'ops',
      events: ['group.exhausted', 'key.invalid'],
      enabled: true,
      chatId: null,
    });
    const cleared = buildChannelPatch({ ...f, clearSecret: true }, saved);
    expect(cleared.ok && cleared.body.secret).toBeNull();
    const typed = buildChannelPatch(
      { ...f, secret: 'new-secret', url: 'https://open.feishu.cn/open-apis/bot/v2/hook/abc' },
      saved,
    );
    expect(typed.ok && typed.body).toMatchObject({
      secret: 'new-secret',
      url: 'https://open.feishu.cn/open-apis/bot/v2/hook/abc',
    });
  });

  it('needs a new URL when the type changes', () => {
    const r = buildChannelPatch({ ...formFromChannel(saved), type: 'slack' }, saved);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.url).toBeDefined();
  });
});
