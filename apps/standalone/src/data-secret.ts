import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

/** Secrets standalone keeps in its data directory when the environment does not give them. */
export interface DataSecretSpec {
  /** File name inside the data directory. */
  file: string;
  /** Prefix of a generated value, so a leaked one is recognisable (`kw-admin-`, `kw-enc-`). */
  prefix: string;
}

/** Set when group or other users could read the file and it could not be made private (a mount that ignores chmod). */
export interface LooseModeWarning {
  file: string;
  mode: number;
}

/** Mode bits are meaningless on Windows: NTFS permissions decide who reads the file. */
const CHECKS_MODE = process.platform !== 'win32';

/** The file's path for a data directory. */
export function dataSecretPath(spec: DataSecretSpec, dataDir: string): string {
  return join(dataDir, spec.file);
}

/**
 * Reads a kept secret; null when the file does not exist. A file others can read is made 0600 again (what we
 * wrote was 0600: someone copied or restored it loosely); when that does not take, the caller is told so it can warn.
 */
export function readDataSecret(file: string): { value: string; loose: LooseModeWarning | null } | null {
  if (!existsSync(file)) return null;
  const value = readFileSync(file, 'utf8').trim();
  return { value, loose: tightenMode(file) };
}

function tightenMode(file: string): LooseModeWarning | null {
  if (!CHECKS_MODE) return null;
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return null;
  try {
    chmodSync(file, 0o600);
  } catch {
    // Not the owner: reported below.
  }
  const now = statSync(file).mode & 0o777;
  return (now & 0o077) === 0 ? null : { file, mode: now };
}

/** A new strong value for `spec`: the prefix and 32 random bytes. */
export function generateSecretValue(spec: DataSecretSpec): string {
  return `${spec.prefix}${randomBytes(32).toString('base64url')}`;
}

/**
 * Writes a new secret durably with mode 0600: to a temporary file, synced, then moved into place and the directory
 * synced, so a crash (or power loss) never leaves a half-written or missing file behind data it protects.
 * `replace` false: when another process created the file first, its value wins and is returned.
 */
export function writeDataSecret(file: string, value: string, opts: { replace: boolean }): string {
  const dir = dirname(file);
  // 0700 when we create it: the directory also holds the database.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${value}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // The umask may have narrowed the mode but never widened it; set it anyway for filesystems that ignore `mode`.
  chmodSync(tmp, 0o600);
  try {
    if (opts.replace) renameSync(tmp, file);
    else {
      try {
        // link() fails when the name exists, unlike rename(): two processes starting at once keep one value.
        linkSync(tmp, file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        return readFileSync(file, 'utf8').trim();
      } finally {
        unlinkSync(tmp);
      }
    }
  } catch (e) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw e;
  }
  syncDir(dir);
  return value;
}

function syncDir(dir: string): void {
  // Makes the new name durable; not supported everywhere (Windows), where rename is already durable enough.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // best effort
  }
}
