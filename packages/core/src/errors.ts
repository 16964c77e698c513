import type { ErrorCode, ValidationIssue } from '@keyway/contracts';

/** The one code → HTTP status table used by every app. */
export const errorStatus: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  MODEL_NOT_ALLOWED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  OVERLOADED: 429,
  INTERNAL: 500,
  UPSTREAM_UNREACHABLE: 502,
  UNAVAILABLE: 503,
  NO_KEYS_AVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
};

/** The single error class of Keyway; `onError` handlers turn it into the API envelope. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
    this.status = errorStatus[code];
  }

  /** A 400 VALIDATION_FAILED with the list of problems. */
  static validation(details: ValidationIssue[], message = 'The request is not valid'): AppError {
    return new AppError('VALIDATION_FAILED', message, { details });
  }

  static notFound(what: string): AppError {
    return new AppError('NOT_FOUND', `${what} not found`);
  }
}

/** True for an AppError, including one from another copy of this module. */
export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError || (e instanceof Error && e.name === 'AppError' && 'code' in e);
}
