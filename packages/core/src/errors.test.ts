import type { ErrorCode } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { AppError, errorStatus, isAppError } from './errors';

describe('AppError', () => {
  it.each([
    ['VALIDATION_FAILED', 400],
    ['MODEL_NOT_ALLOWED', 400],
    ['UNAUTHORIZED', 401],
    ['FORBIDDEN', 403],
    ['NOT_FOUND', 404],
    ['CONFLICT', 409],
    ['PAYLOAD_TOO_LARGE', 413],
    ['RATE_LIMITED', 429],
    ['OVERLOADED', 429],
    ['INTERNAL', 500],
    ['UPSTREAM_UNREACHABLE', 502],
    ['UNAVAILABLE', 503],
    ['NO_KEYS_AVAILABLE', 503],
    ['UPSTREAM_TIMEOUT', 504],
  ] satisfies Array<[ErrorCode, number]>)('maps %s to HTTP %i', (code, status) => {
    expect(errorStatus[code]).toBe(status);
    const e = new AppError(code, 'm');
    expect(e).toMatchObject({ code, status, message: 'm', name: 'AppError' });
    expect(e).toBeInstanceOf(Error);
  });

  it('keeps the cause and details it was given, and sets no cause otherwise', () => {
    const cause = new Error('socket hang up');
    const e = new AppError('UPSTREAM_UNREACHABLE', 'upstream unreachable', {
      cause,
      details: { attempts: 3 },
    });
    expect(e.cause).toBe(cause);
    expect(e.details).toEqual({ attempts: 3 });
    expect('cause' in new AppError('INTERNAL', 'x')).toBe(false);
  });

  it('builds a 400 VALIDATION_FAILED carrying the issues', () => {
    const issues = [{ path: 'name', message: 'required' }];
    const e = AppError.validation(issues);
    expect(e).toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
      details: issues,
      message: 'The request is not valid',
    });
    expect(AppError.validation([], 'custom').message).toBe('custom');
  });

  it('builds a 404 naming what was not found', () => {
    expect(AppError.notFound('Group 7')).toMatchObject({
      code: 'NOT_FOUND',
      status: 404,
      message: 'Group 7 not found',
    });
  });
});

describe('isAppError', () => {
  it('recognizes an AppError', () => {
    expect(isAppError(new AppError('CONFLICT', 'taken'))).toBe(true);
  });

  it('recognizes an AppError from another copy of the module by name and code', () => {
    const foreign = Object.assign(new Error('x'), { name: 'AppError', code: 'NOT_FOUND' });
    expect(isAppError(foreign)).toBe(true);
  });

  it.each([
    ['a plain Error', new Error('x')],
    ['an Error named AppError without a code', Object.assign(new Error('x'), { name: 'AppError' })],
    ['an error-shaped object that is not an Error', { name: 'AppError', code: 'NOT_FOUND', message: 'x' }],
    ['null', null],
    ['a string', 'AppError'],
  ])('rejects %s', (_name, value) => {
    expect(isAppError(value)).toBe(false);
  });
});
