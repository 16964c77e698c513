import { z } from 'zod';

/** Error codes of the admin API envelope (and of gateway-made errors internally). */
export const errorCodeSchema = z.enum([
  'VALIDATION_FAILED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'INTERNAL',
  'UNAVAILABLE',
  'NO_KEYS_AVAILABLE',
  'UPSTREAM_UNREACHABLE',
  'UPSTREAM_TIMEOUT',
  'MODEL_NOT_ALLOWED',
  'OVERLOADED',
]);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

export const validationIssueSchema = z.object({ path: z.string(), message: z.string() });
export type ValidationIssue = z.infer<typeof validationIssueSchema>;

/** `{"error":{"code","message","details"}}` — every admin API error. */
export const errorEnvelopeSchema = z.object({
  error: z.object({ code: errorCodeSchema, message: z.string(), details: z.unknown().optional() }),
});
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;

/** `?page=1&pageSize=50` (max 1000). */
export const paginationQuerySchema = z.object({
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(1000).default(50),
});
export type PaginationQuery = z.infer<typeof paginationQuerySchema>;

/** A paginated list response. */
export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    total: z.number().int(),
    page: z.number().int(),
    pageSize: z.number().int(),
  });

/** Path ids: positive integers. */
export const idParamSchema = z.coerce
  .number()
  .int()
  .positive()
  .max(2 ** 31 - 1);

/** Turns zod issues into the `details` list of a VALIDATION_FAILED error. */
export function toValidationIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/** A glob over the model the client named: `*` any run of characters, `?` one character. */
export const modelGlobSchema = z
  .string()
  .min(1)
  .max(255)
  .refine(noControl, { message: 'must not contain control characters' });

/** Whether a string is free of C0 control characters and DEL. */
export function noControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}
