import { describe, expect, it } from 'vitest';
import { classifyOutcome, genericRules } from './classify';

describe('billing patterns on a 400', () => {
  const rules = { ...genericRules, billingPatterns: [/credit balance is too low/] };

  it('classifies a 400 that says the key has no credit as quota (fail over, cool the key)', () => {
    const c = classifyOutcome({ status: 400, body: 'Your credit balance is too low' }, rules);
    expect(c).toMatchObject({ class: 'quota', retryable: true });
  });

  it('keeps other 400s as client errors that are never retried', () => {
    expect(classifyOutcome({ status: 400, body: 'max_tokens is too large' }, rules)).toMatchObject({
      class: 'client',
      retryable: false,
    });
    expect(classifyOutcome({ status: 400, body: 'Your credit balance is too low' }, genericRules).class).toBe(
      'client',
    );
  });
});
