import { z } from 'zod';

/** The import task's result (API.md "GPT-Load import"); read defensively, the card shows what it can. */
export const gptLoadImportResultSchema = z.object({
  groups: z.object({ created: z.number(), skipped: z.number() }),
  keys: z.object({ added: z.number(), ignored: z.number(), undecryptable: z.number() }),
  proxyKeys: z.object({ imported: z.number(), weak: z.number() }),
  settings: z.object({
    applied: z.array(z.unknown()),
    ignored: z.array(z.object({ key: z.string(), reason: z.string() })),
  }),
  warnings: z.array(z.unknown()),
});
export type GptLoadImportResult = z.infer<typeof gptLoadImportResultSchema>;

/** A warning or applied setting as one line: results may carry strings or small objects. */
export function line(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.message === 'string') return o.message;
    if (typeof o.key === 'string') return 'reason' in o ? `${o.key}: ${String(o.reason)}` : o.key;
  }
  return JSON.stringify(v);
}

/** The inputs a dry run was made with: the real import is offered only for the same ones. */
export function sourceFingerprint(mode: 'file' | 'url', file: File | null, url: string, key: string): string {
  return mode === 'file'
    ? `file:${file?.name ?? ''}:${file?.size ?? 0}:${file?.lastModified ?? 0}:${key}`
    : `url:${url.trim()}:${key}`;
}
