import { hashUpstreamKey } from '@keyway/keypool';

/** How upstream keys are stored: `seal` before writing, `open` after reading, `hash` for de-duplication/search. */
export interface KeyCipher {
  readonly encrypted: boolean;
  seal(plain: string): string;
  open(stored: string): string;
  hash(plain: string): string;
}

/** Keys stored as given (no ENCRYPTION_KEY); hashes are plain SHA-256. */
export const plainKeyCipher: KeyCipher = {
  encrypted: false,
  seal: (plain) => plain,
  open: (stored) => stored,
  hash: (plain) => hashUpstreamKey(plain),
};
