import { classifyOutcome } from '@keyway/core';
import type { Classification, ClassifierRules, Outcome } from '@keyway/core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';

/**
 * The instant the classifier fixtures are classified at (tests fake the clock): 12:00 in Los Angeles (PST), so
 * Gemini's daily quotas reset 12 hours later.
 */
export const FIXTURE_NOW = Date.parse('2026-01-15T20:00:00Z');

/** Twelve hours: from {@link FIXTURE_NOW} to the next midnight Pacific time. */
export const UNTIL_PACIFIC_MIDNIGHT = 12 * 3_600_000;

/** What a fixture pins down of a classification: fields left out must be absent. */
export type ExpectedClassification = Pick<Classification, 'class' | 'retryable'> &
  Partial<Pick<Classification, 'retryAfterMs' | 'model'>>;

/** One upstream error as the provider answers it, where that answer is documented, and how Keyway classifies it. */
export interface ErrorFixture {
  name: string;
  /** Where the body comes from: the provider's documentation, or a report quoting the provider's answer. */
  source: string;
  outcome: Outcome;
  expected: ExpectedClassification;
}

/** The fixture-relevant fields of an outcome's classification, absent ones left out (so `toEqual` checks them). */
export function classifiedFields(outcome: Outcome, rules: ClassifierRules): ExpectedClassification {
  const c = classifyOutcome(outcome, rules);
  const got: ExpectedClassification = { class: c.class, retryable: c.retryable };
  if (c.retryAfterMs !== undefined) got.retryAfterMs = c.retryAfterMs;
  if (c.model !== undefined) got.model = c.model;
  return got;
}

/**
 * One test per fixture, at {@link FIXTURE_NOW}: the classification's class, retryability, delay and model are
 * exactly the expected ones (a delay or model the fixture leaves out must be absent). Call inside a `describe`.
 */
export function itClassifiesEach(fixtures: readonly ErrorFixture[], rules: ClassifierRules): void {
  beforeAll(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(FIXTURE_NOW);
  });
  afterAll(() => {
    vi.useRealTimers();
  });
  it.each(fixtures.map((f) => [f.name, f] as const))('%s', (_name, f) => {
    expect(classifiedFields(f.outcome, rules)).toEqual(f.expected);
  });
}

/** A Google API error body (`google.rpc.Status` as JSON). */
export const googleError = (code: number, status: string, message: string, details?: unknown[]): string =>
  JSON.stringify({ error: { code, message, status, ...(details ? { details } : {}) } });

/** An OpenAI error body. */
export const openAiError = (message: string, type: string | null, code: string | null): string =>
  JSON.stringify({ error: { message, type, param: null, code } });

/** An Anthropic error body. */
export const anthropicError = (type: string, message: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ type: 'error', error: { type, message, ...extra }, request_id: 'req_011CTestFixture' });
