import type { IncomingMessage } from 'node:http';
import type { GroupRuntime } from './runtime';

/**
 * Reads the whole request body, refusing more than `limit` bytes. Resolves null for "no body", `'too-large'`, or
 * `'aborted'` when the upload broke off (the client went away or the connection failed): such a body is never
 * forwarded as if it were complete — or empty.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
): Promise<Buffer | null | 'too-large' | 'aborted'> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve('too-large');
  if (
    declared === '0' ||
    ((req.method === 'GET' || req.method === 'HEAD') &&
      declared === undefined &&
      !req.headers['transfer-encoding'])
  )
    return Promise.resolve(null);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    // `on`, not `once`: each fires at most once, and the promise settles once; once() allocates a wrapper each.
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    req.on('error', () => resolve('aborted'));
    // A request destroyed without an error emits neither 'end' nor 'error'. After 'end' (or 'too-large') the
    // promise is settled already and this resolve does nothing.
    req.on('close', () => resolve('aborted'));
  });
}

/** Result of applying a group's body rules. */
export type BodyRewrite = { ok: true; body: Buffer | null; path: string } | { ok: false; model: string };

/**
 * Applies param overrides (shallow, GPT-Load semantics) and model redirects, and asks for usage in a stream
 * that would carry none (OpenAI chat without `stream_options.include_usage`: the response writer removes what
 * that adds). JSON is parsed only when one of them applies; otherwise the bytes pass through untouched.
 */
export function rewriteBody(group: GroupRuntime, path: string, body: Buffer | null): BodyRewrite {
  const r = applyRules(group, path, body);
  const usage = group.provider.streamUsage;
  // Judged on the client's own body: what it asked for is what it gets back.
  if (r.ok && r.body && usage?.missing(path, body)) return { ...r, body: usage.request(r.body) };
  return r;
}

function applyRules(group: GroupRuntime, path: string, body: Buffer | null): BodyRewrite {
  const redirects = group.modelRedirects;
  if (!group.paramOverrides && !redirects) return { ok: true, body, path };

  // Some channels (Gemini's native API) name the model in the path, not the body.
  const inPath = redirects ? group.provider.modelInPath?.(path) : null;
  if (redirects && inPath) {
    const target = redirects[inPath.model];
    if (target) path = inPath.withModel(target);
    else if (group.modelRedirectStrict) return { ok: false, model: inPath.model };
    return { ok: true, body: group.paramOverrides ? overrideOnly(group.paramOverrides, body) : body, path };
  }

  const parsed = parseObject(body);
  if (!parsed) return { ok: true, body, path };
  let changed = false;
  if (group.paramOverrides) {
    Object.assign(parsed, group.paramOverrides);
    changed = true;
  }
  if (redirects && typeof parsed.model === 'string') {
    const target = redirects[parsed.model];
    if (target) {
      parsed.model = target;
      changed = true;
    } else if (group.modelRedirectStrict) return { ok: false, model: parsed.model };
  }
  return { ok: true, body: changed ? Buffer.from(JSON.stringify(parsed)) : body, path };
}

function overrideOnly(overrides: Record<string, unknown>, body: Buffer | null): Buffer | null {
  const parsed = parseObject(body);
  return parsed ? Buffer.from(JSON.stringify(Object.assign(parsed, overrides))) : body;
}

function parseObject(body: Buffer | null): Record<string, unknown> | null {
  if (!body || body.length === 0) return null;
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
