import { createHmac } from 'node:crypto';
import type { AlertFormatter } from '../types';
import { alertMarkdown, alertTitle, codeRejection } from '../text';

/**
 * DingTalk's custom-robot signature ("加签"): HMAC-SHA256 with the secret (`SEC…`) as key over
 * `timestamp + "\n" + secret`, Base64 — then URL-encoded into the query; `timestamp` in milliseconds, within an hour
 * (https://open.dingtalk.com/document/robots/customize-robot-security-settings).
 */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/**
 * DingTalk custom robot (https://open.dingtalk.com/document/robots/custom-robot-access, message types:
 * https://open.dingtalk.com/document/robots/message-types-and-data-format): POST `{"msgtype":"markdown",
 * "markdown":{"title","text"}}` to `https://oapi.dingtalk.com/robot/send?access_token=…`, signed by appending
 * `&timestamp=…&sign=…`. Errors come back as HTTP 200 `{"errcode": 310000, "errmsg": "sign not match"}`.
 */
export const dingtalkFormatter: AlertFormatter = {
  request(target, payload, now) {
    let url = target.url;
    if (target.secret) {
      const u = new URL(target.url);
      u.searchParams.set('timestamp', String(now));
      u.searchParams.set('sign', dingtalkSign(target.secret, now));
      url = u.toString();
    }
    const body = {
      msgtype: 'markdown',
      markdown: { title: alertTitle(payload), text: alertMarkdown(payload) },
    };
    return { url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  },
  rejection: (statusCode, body) => codeRejection(statusCode, body, 'errcode', 'errmsg'),
};
