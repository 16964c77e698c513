import { createHmac } from 'node:crypto';
import type { AlertFormatter } from '../types';
import { alertPlainText, codeRejection } from '../text';

/**
 * Feishu/Lark's custom-bot signature: the string `timestamp + "\n" + secret` is the HMAC-SHA256 *key*, the
 * message is empty, the digest Base64; `timestamp` in seconds, within an hour of Feishu's clock
 * (https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot, "签名校验").
 */
export function feishuSign(secret: string, timestampSeconds: number): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

/**
 * Feishu / Lark custom bot (https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot; Lark:
 * https://open.larksuite.com/document/client-docs/bot-v3/add-custom-bot): POST `{"msg_type":"text","content":
 * {"text"}}` to `https://open.feishu.cn/open-apis/bot/v2/hook/<token>`, with `timestamp` and `sign` in the body
 * when signature verification is on. Errors come back as HTTP 200 `{"code": 19021, "msg": "sign match fail…"}`.
 */
export const feishuFormatter: AlertFormatter = {
  request(target, payload, now) {
    const timestamp = Math.floor(now / 1000);
    const body = {
      ...(target.secret ? { timestamp: String(timestamp), sign: feishuSign(target.secret, timestamp) } : {}),
      msg_type: 'text',
      content: { text: alertPlainText(payload) },
    };
    return { url: target.url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  },
  // Older answers say `StatusCode`, current ones `code`.
  rejection: (statusCode, body) =>
    codeRejection(statusCode, body, 'code', 'msg') ??
    codeRejection(statusCode, body, 'StatusCode', 'StatusMessage'),
};
