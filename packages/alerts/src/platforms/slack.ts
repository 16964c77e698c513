import type { AlertFormatter } from '../types';
import { alertFacts, alertTitle } from '../text';

/** Slack's mrkdwn needs `&`, `<` and `>` escaped (https://api.slack.com/reference/surfaces/formatting#escaping). */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Slack incoming webhook (https://api.slack.com/messaging/webhooks): POST `{"text", "blocks"}` to the webhook URL;
 * `text` is the notification fallback when `blocks` are given. Slack answers 200 `ok`, or 4xx with a reason
 * (`invalid_payload`, `no_service` …).
 */
export const slackFormatter: AlertFormatter = {
  request(target, payload) {
    const title = alertTitle(payload);
    const body = {
      text: `${title}: ${payload.message}`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
        { type: 'section', text: { type: 'mrkdwn', text: escape(payload.message).slice(0, 3000) } },
        {
          type: 'section',
          fields: alertFacts(payload)
            .slice(0, 10)
            .map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${escape(v)}`.slice(0, 2000) })),
        },
      ],
    };
    return { url: target.url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  },
  rejection(statusCode, body) {
    if (statusCode >= 200 && statusCode < 300) return null;
    const reason = body.trim().slice(0, 100);
    return `HTTP ${statusCode}${/^[a-z_]+$/.test(reason) ? `: ${reason}` : ''}`;
  },
};
