import type { AlertFormatter } from '../types';
import { alertMarkdown, codeRejection } from '../text';

/** WeCom caps a markdown message at 4096 bytes (UTF-8). */
const MAX_BYTES = 4096;

function clampBytes(text: string): string {
  let out = text;
  while (Buffer.byteLength(out, 'utf8') > MAX_BYTES) out = out.slice(0, Math.floor(out.length * 0.9));
  return out;
}

/**
 * WeCom (企业微信) group robot (https://developer.work.weixin.qq.com/document/path/91770): POST
 * `{"msgtype":"markdown","markdown":{"content"}}` to `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`. No
 * signing: the `key` in the URL is the credential. Errors come back as HTTP 200 `{"errcode": 93000, "errmsg"}`.
 */
export const wecomFormatter: AlertFormatter = {
  request(target, payload) {
    const body = { msgtype: 'markdown', markdown: { content: clampBytes(alertMarkdown(payload)) } };
    return { url: target.url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  },
  rejection: (statusCode, body) => codeRejection(statusCode, body, 'errcode', 'errmsg'),
};
