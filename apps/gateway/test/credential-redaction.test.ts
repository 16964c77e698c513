import { SENSITIVE_HEADERS } from '@keyway/observability';
import { credentialHeaderNames, registeredProviders } from '@keyway/providers';
import { describe, expect, it } from 'vitest';

// The log redaction keeps its own list of credential headers (observability knows no channels): every header a
// registered channel carries a credential in must be on it, or a new channel's keys would be logged in clear.
describe('credential headers of every channel are redacted in logs', () => {
  it('lists each built-in channel credential header as sensitive', () => {
    expect(registeredProviders().length).toBeGreaterThanOrEqual(4);
    const names = credentialHeaderNames();
    expect(names).toContain('authorization');
    const sensitive: readonly string[] = SENSITIVE_HEADERS;
    expect(names.filter((n) => !sensitive.includes(n))).toEqual([]);
  });
});
