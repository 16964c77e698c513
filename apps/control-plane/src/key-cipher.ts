import { createKeyCipher } from '@keyway/keypool';

export { createKeyCipher, KeyDecryptError, type KeyCipher } from '@keyway/keypool';

/** Keys stored as given (no ENCRYPTION_KEY); hashes are plain SHA-256. */
export const plainKeyCipher = createKeyCipher(undefined);
