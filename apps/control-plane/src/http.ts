import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import { toValidationIssues } from '@keyway/contracts';
import { AppError, MAX_JSON_DEPTH, isAppError, jsonNestingExceeds, type LogPort } from '@keyway/core';

/**
 * Parses a JSON body with a zod schema: 400 VALIDATION_FAILED for non-JSON, too deeply nested or invalid bodies.
 * The body is read through the route's limit (`bodyLimit`): past it the read fails with 413 PAYLOAD_TOO_LARGE.
 */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  let text: string;
  try {
    text = await c.req.text();
  } catch (e) {
    if (isAppError(e)) throw e;
    throw AppError.validation(
      [{ path: '', message: 'body could not be read' }],
      'The request body could not be read',
    );
  }
  let raw: unknown = {};
  if (text.trim() !== '') {
    if (jsonNestingExceeds(text))
      throw AppError.validation(
        [{ path: '', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
        `The request body nests objects or arrays deeper than ${MAX_JSON_DEPTH} levels`,
      );
    try {
      raw = JSON.parse(text);
    } catch {
      throw AppError.validation(
        [{ path: '', message: 'body is not valid JSON' }],
        'The request body is not valid JSON',
      );
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw AppError.validation(toValidationIssues(parsed.error));
  return parsed.data;
}

/** Parses the query string with a zod schema (400 on failure). */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success)
    throw AppError.validation(toValidationIssues(parsed.error), 'The query string is not valid');
  return parsed.data;
}

/** Parses a positive integer path parameter; a malformed id is a 404 like an unknown one. */
export function idParam(c: Context, name: string, what: string): number {
  const raw = c.req.param(name) ?? '';
  const id = /^[1-9][0-9]{0,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id) || id > 2 ** 31 - 1) throw AppError.notFound(what);
  return id;
}

/** The one error → envelope translation of the admin API. Internals never reach the client. */
export function errorHandler(logger: LogPort): ErrorHandler {
  return (err, c) => {
    if (isAppError(err)) {
      return c.json(
        {
          error: {
            code: err.code,
            message: err.message,
            ...(err.details === undefined ? {} : { details: err.details }),
          },
        },
        err.status as 400,
      );
    }
    if (err instanceof HTTPException && err.status < 500) {
      const code =
        err.status === 413 ? 'PAYLOAD_TOO_LARGE' : err.status === 401 ? 'UNAUTHORIZED' : 'VALIDATION_FAILED';
      return c.json({ error: { code, message: err.message || 'Bad request' } }, err.status);
    }
    logger.error({ err, path: c.req.path, method: c.req.method }, 'admin API request failed');
    return c.json({ error: { code: 'INTERNAL', message: 'Internal error' } }, 500);
  };
}

/** Prisma's unique-constraint violation. */
export function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === 'P2002';
}
