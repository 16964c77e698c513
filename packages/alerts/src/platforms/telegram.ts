import type { AlertFormatter } from '../types';
import { alertFacts, alertTitle, jsonAnswer } from '../text';

/** Telegram's HTML mode needs `<`, `>` and `&` escaped (https://core.telegram.org/bots/api#html-style). */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Telegram Bot API `sendMessage` (https://core.telegram.org/bots/api#sendmessage): POST `{"chat_id","text",
 * "parse_mode":"HTML"}` to `<url>/sendMessage`, where the channel's url is `https://api.telegram.org/bot<token>`.
 * Answers `{"ok":true,…}`, or a non-2xx status with `{"ok":false,"error_code","description"}`. Text is capped at
 * 4096 characters.
 */
export const telegramFormatter: AlertFormatter = {
  request(target, payload) {
    const lines = [
      `<b>${escape(alertTitle(payload))}</b>`,
      escape(payload.message),
      ...alertFacts(payload).map(([k, v]) => `<b>${escape(k)}:</b> ${escape(v)}`),
    ];
    const body = {
      chat_id: target.chatId ?? '',
      text: lines.join('\n').slice(0, 4096),
      parse_mode: 'HTML',
      disable_web_page_preview: true,
    };
    return {
      url: `${target.url.replace(/\/+$/, '')}/sendMessage`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    };
  },
  rejection(statusCode, body) {
    const json = jsonAnswer(body);
    if (statusCode >= 200 && statusCode < 300 && json?.['ok'] !== false) return null;
    const description = json?.['description'];
    return `HTTP ${statusCode}${typeof description === 'string' ? `: ${description.slice(0, 200)}` : ''}`;
  },
};
