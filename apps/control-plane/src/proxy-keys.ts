import { isWeakSecret } from '@keyway/config';
import type { ValidationIssue } from '@keyway/contracts';
import { AppError, maskSecret } from '@keyway/core';
import type { StoredProxyKey } from '@keyway/db';
import { hashProxyKey } from '@keyway/keypool';

/** A proxy key judged weak when it was written: its position in the written list and why. */
export interface ProxyKeyWeakness {
  index: number;
  reason: string;
}

/**
 * Judges proxy keys as they are written. Stored proxy keys are only hashes, so this is the one moment their
 * strength can be known; the caller keeps `reason` as `weak` next to the hash. Call it only for values that are
 * new plaintext: a masked value sent back for a key already stored is no key at all and would always look weak.
 */
export function proxyKeyWarnings(values: readonly string[]): ProxyKeyWeakness[] {
  return values.flatMap((value, index) => {
    const weak = isWeakSecret(value);
    return weak ? [{ index, reason: weak.reason }] : [];
  });
}

/** Hashes proxy keys for storage; a masked value sent back unchanged keeps the stored key it stands for. */
export function storeProxyKeys(
  input: readonly string[],
  existing: readonly StoredProxyKey[],
): StoredProxyKey[] {
  // Several stored keys can share one masked form: each occurrence of it in the input keeps one of them.
  const byMask = new Map<string, StoredProxyKey[]>();
  for (const k of existing) byMask.set(k.masked, [...(byMask.get(k.masked) ?? []), k]);
  const out = new Map<string, StoredProxyKey>();
  for (const value of input) {
    const kept = byMask.get(value)?.shift();
    const stored = kept ?? newProxyKey(value);
    out.set(stored.hash, stored);
  }
  return [...out.values()];
}

/**
 * Refuses proxy keys an attacker could guess (under 16 characters, common words, sequences — the AUTH_KEY rule)
 * with 400 VALIDATION_FAILED at `proxyKeys.N`, never quoting the key. A masked value sent back for a stored key
 * is no key at all and is not judged: it keeps the stored key, weak or not (weak stored keys show as a
 * dashboard warning instead).
 */
export function assertStrongProxyKeys(input: readonly string[], existing: readonly StoredProxyKey[]): void {
  const masks = new Map<string, number>();
  for (const k of existing) masks.set(k.masked, (masks.get(k.masked) ?? 0) + 1);
  const problems: ValidationIssue[] = [];
  for (const [i, value] of input.entries()) {
    const left = masks.get(value) ?? 0;
    if (left > 0) {
      masks.set(value, left - 1);
      continue;
    }
    const weak = isWeakSecret(value);
    if (weak?.level !== 'refuse') continue;
    // The reason may quote the common word it found; the key itself is never part of the message.
    const reason = weak.reason.replace(/\s*\(.*\)$/, '');
    problems.push({
      path: `proxyKeys.${i}`,
      message: `too weak (${reason}): a proxy key needs at least 16 random characters, not common words or sequences`,
    });
  }
  if (problems.length > 0) throw AppError.validation(problems, 'A proxy key is too weak');
}

function newProxyKey(value: string): StoredProxyKey {
  const weak = proxyKeyWarnings([value])[0]?.reason;
  return { hash: hashProxyKey(value), masked: maskSecret(value), ...(weak ? { weak } : {}) };
}
