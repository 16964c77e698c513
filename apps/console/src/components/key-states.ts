import type { KeyStatus } from '@keyway/contracts';

export const KEY_STATES: readonly KeyStatus[] = ['active', 'cooling', 'invalid', 'disabled'];

/** Element Plus tag type per key state (DESIGN §5): usable, temporarily resting, blacklisted, parked. */
export const KEY_STATE_TAG: Record<KeyStatus, 'success' | 'warning' | 'danger' | 'info'> = {
  active: 'success',
  cooling: 'warning',
  invalid: 'danger',
  disabled: 'info',
};
