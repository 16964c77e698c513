import type { StreamUsage } from '../provider';
import { peekJsonTrue } from '../json-peek';

const CHAT_COMPLETIONS = '/chat/completions';
/** Every chunk of a stream asked for usage carries this field until the last one (which has the counts). */
const NULL_USAGE = /,\s*"usage"\s*:\s*null|"usage"\s*:\s*null\s*,?/;

function jsonObject(body: Buffer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Whether a Chat Completions body asks for usage in its stream (`stream_options.include_usage: true`). */
function asksUsage(body: Buffer): boolean {
  // Most bodies never mention it: no parse for them.
  if (!body.includes('include_usage')) return false;
  const options = jsonObject(body)?.stream_options;
  return (
    typeof options === 'object' &&
    options !== null &&
    (options as Record<string, unknown>).include_usage === true
  );
}

/**
 * Chat Completions streams carry usage only when the client asks (`stream_options.include_usage`): then every
 * chunk has `"usage": null` and one last chunk has `"choices": []` and the counts. The gateway asks for it on the
 * client's behalf and takes both back out, so streaming callers cannot escape token limits and cost.
 */
export const chatStreamUsage: StreamUsage = {
  missing(path, body) {
    return (
      path.endsWith(CHAT_COMPLETIONS) && body !== null && peekJsonTrue(body, 'stream') && !asksUsage(body)
    );
  },
  request(body) {
    const parsed = jsonObject(body);
    if (!parsed) return body;
    const options = parsed.stream_options;
    parsed.stream_options = {
      ...(typeof options === 'object' && options !== null ? options : {}),
      include_usage: true,
    };
    return Buffer.from(JSON.stringify(parsed));
  },
  strip(data) {
    if (!data.includes('"usage"')) return data;
    const nulled = NULL_USAGE.exec(data);
    if (nulled) return data.slice(0, nulled.index) + data.slice(nulled.index + nulled[0].length);
    try {
      const event = JSON.parse(data) as { choices?: unknown; usage?: unknown };
      if (Array.isArray(event.choices) && event.choices.length === 0 && typeof event.usage === 'object')
        return null;
    } catch {
      // Not JSON: pass it on as it came.
    }
    return data;
  },
};
