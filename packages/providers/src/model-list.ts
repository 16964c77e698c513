/** How to rewrite one model-list response. */
export interface ModelListOptions {
  /** The group's model redirects: client-facing name → upstream name. Keys are what clients may ask for. */
  redirects: Record<string, string>;
  /** Strict redirects: clients may use only the redirect keys, so the list shows exactly those. */
  strict: boolean;
  /** The first page of the list (see `ModelListFormat.isFirstPage`): the only one the keys are merged into. */
  firstPage: boolean;
}

/** One dialect's model-list response, as a group with model redirects rewrites it. */
export interface ModelListFormat {
  /** Whether a request with this query (raw, without `?`) asks for the list's first page. */
  isFirstPage(query: string): boolean;
  /**
   * The parsed list with the group's redirect keys shown: strict mode replaces the list; otherwise the keys are
   * appended on the first page, skipping names upstream already lists. A body of another shape comes back as
   * given; the input is never mutated.
   */
  rewrite(body: unknown, opts: ModelListOptions): unknown;
  /**
   * Several lists of this format as one complete list (key-routed model lists answer the union of a caller's
   * groups): the first list's other fields, each entry once by name (the first seen wins) when `keep` accepts the
   * name, and no paging fields. Bodies of another shape are skipped; null when none has this format's shape.
   */
  union(bodies: readonly unknown[], keep: (name: string) => boolean): unknown;
}

type JsonObject = Record<string, unknown>;

/** What differs between the dialects' list bodies. */
export interface ModelListShape {
  /** The array field holding the models. */
  field: string;
  /** The entry shown for a redirect key. */
  entry(name: string): JsonObject;
  /** The comparable name of an upstream entry (or of a key), to skip names upstream lists already. */
  nameOf(entry: unknown): string | null;
  /** Query parameters that ask for a later page. */
  pageParams: readonly string[];
  /** A replaced (complete) list without its paging fields. */
  lastPage(body: JsonObject): JsonObject;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A model-list format from the shape of its body. */
export function modelListFormat(shape: ModelListShape): ModelListFormat {
  return {
    isFirstPage(query) {
      if (shape.pageParams.length === 0 || query === '') return true;
      const params = new URLSearchParams(query);
      return !shape.pageParams.some((p) => params.has(p));
    },
    rewrite(body, opts) {
      if (!isObject(body)) return body;
      const list = body[shape.field];
      if (!Array.isArray(list)) return body;
      const keys = Object.keys(opts.redirects);
      if (opts.strict) return shape.lastPage({ ...body, [shape.field]: keys.map((k) => shape.entry(k)) });
      // Appending on a later page would show the keys once per page.
      if (keys.length === 0 || !opts.firstPage) return body;
      const seen = new Set((list as unknown[]).map((m) => shape.nameOf(m)));
      const extra = keys.filter((k) => !seen.has(shape.nameOf(k))).map((k) => shape.entry(k));
      return extra.length === 0 ? body : { ...body, [shape.field]: [...(list as unknown[]), ...extra] };
    },
    union(bodies, keep) {
      const lists = bodies.filter((b): b is JsonObject => isObject(b) && Array.isArray(b[shape.field]));
      const first = lists[0];
      if (!first) return null;
      const seen = new Set<string>();
      const entries: unknown[] = [];
      for (const body of lists)
        for (const entry of body[shape.field] as unknown[]) {
          const name = shape.nameOf(entry);
          if (name === null || seen.has(name) || !keep(name)) continue;
          seen.add(name);
          entries.push(entry);
        }
      return shape.lastPage({ ...first, [shape.field]: entries });
    },
  };
}

/**
 * Whether a request lists models at one of `suffixes` (GPT-Load intercepts these to show the group's redirect
 * keys). Only the collection: `/v1/models/{id}` is a single model and passes through untouched.
 */
export function isListPath(method: string, path: string, suffixes: readonly string[]): boolean {
  if (method.toUpperCase() !== 'GET') return false;
  let p = path;
  const q = p.indexOf('?');
  if (q >= 0) p = p.slice(0, q);
  if (p.endsWith('/')) p = p.slice(0, -1);
  return suffixes.some((s) => p.endsWith(s));
}

/** OpenAI's `{"object":"list","data":[{"id",…}]}`, also served by OpenAI-compatible APIs. */
export const openAiModelList = modelListFormat({
  field: 'data',
  entry: (id) => ({ id, object: 'model', created: 0, owned_by: 'system' }),
  nameOf: (m) => (typeof m === 'string' ? m : isObject(m) && typeof m.id === 'string' ? m.id : null),
  pageParams: [],
  // Some OpenAI-compatible lists page by `has_more`; the replaced list is complete.
  lastPage: (body) => ('has_more' in body ? { ...body, has_more: false } : body),
});
