/** 64 symbols, so a random byte masked to 6 bits picks one without bias. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

type FillRandom = (bytes: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer>;

/**
 * A new proxy key: `sk-` and 48 characters from a CSPRNG (288 bits). GPT-Load used Math.random; the API stores
 * keys hashed, so this value is shown in full only until the form is saved.
 */
export function generateProxyKey(
  length = 48,
  fill: FillRandom = (bytes) => globalThis.crypto.getRandomValues(bytes),
): string {
  const bytes = fill(new Uint8Array(length));
  let out = 'sk-';
  for (const b of bytes) out += ALPHABET[b & 63];
  return out;
}

/** Whether a proxy key as the API returns it is masked (it contains the mask characters). */
export function isMaskedKey(value: string): boolean {
  return value.includes('*') || value.includes('…');
}
