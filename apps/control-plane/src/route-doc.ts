import type { z } from 'zod';

/** One documented admin route. `path` uses OpenAPI's `{param}` form. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  body?: z.ZodType;
  /** A valid body, when `{}` is not one: the fuzz suite (fuzz.test.ts) mutates it. */
  example?: unknown;
  query?: z.ZodObject;
  /** Success status and schema (undefined schema: no body; 'text' / 'csv': not JSON). */
  status: number;
  response?: z.ZodType | 'text' | 'csv';
  public?: boolean;
}
