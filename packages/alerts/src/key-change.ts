/** The fields of a key state change that say why it happened (keypool's `KeyStateChange` fits). */
export interface KeyChangeLike {
  status: string;
  cause: string;
}

/**
 * Which alert a key state change raises (core's `nextHealth` sets `invalid` two ways): an auth failure invalidates
 * a key → `key.invalid`; the failure threshold reached by repeated upstream failures (`upstream`, a repeated
 * `slow`) blacklists it → `key.blacklisted`. Changes an operator asked for raise none: `manual`, and `validation`
 * (a validation task or the test button, whose results the operator is looking at).
 */
export function keyChangeEvent(change: KeyChangeLike): 'key.invalid' | 'key.blacklisted' | null {
  if (change.status !== 'invalid') return null;
  if (change.cause === 'auth') return 'key.invalid';
  if (change.cause === 'upstream' || change.cause === 'slow') return 'key.blacklisted';
  return null;
}
