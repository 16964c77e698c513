import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { AppError, isAppError } from '@keyway/core';
import busboy from 'busboy';

/** A multipart upload received into a private temporary directory. */
export interface ReceivedUpload {
  /** Path of the uploaded file (`fileField`), or null when the form had none. */
  file: string | null;
  /** The text fields (each at most 64 KiB). */
  fields: Record<string, string>;
  /** Deletes the temporary directory and the file in it. */
  cleanup: () => Promise<void>;
}

/**
 * Streams a `multipart/form-data` request to a temporary file (mode 0600), never holding the file in memory:
 * GPT-Load databases with logs run to hundreds of MiB. The route's body limit (body-limit.ts) stops the stream at
 * its size with 413; `maxBytes` caps the file itself the same way. On any failure nothing is left on disk.
 */
export async function receiveUpload(
  req: Request,
  fileField: string,
  maxBytes: number,
): Promise<ReceivedUpload> {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-upload-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const path = join(dir, 'upload');
  const fields: Record<string, string> = {};
  let written: Promise<void> | null = null;
  let tooLarge = false;
  try {
    if (!req.body)
      throw AppError.validation([{ path: fileField, message: 'no body' }], 'The upload is empty');
    const parser = busboy({
      headers: { 'content-type': req.headers.get('content-type') ?? '' },
      limits: { files: 1, fields: 20, fieldSize: 64 * 1024, fileSize: maxBytes },
    });
    parser.on('file', (name, stream) => {
      if (name !== fileField || written) {
        stream.resume();
        return;
      }
      stream.on('limit', () => {
        tooLarge = true;
      });
      written = pipeline(stream, createWriteStream(path, { mode: 0o600 }));
    });
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    await pipeline(Readable.fromWeb(req.body as NodeWebStream<Uint8Array>), parser);
    await (written ?? Promise.resolve());
    if (tooLarge)
      throw new AppError('PAYLOAD_TOO_LARGE', `The uploaded file exceeds ${maxBytes / 1024 / 1024} MiB`);
    return { file: written ? path : null, fields, cleanup };
  } catch (e) {
    await cleanup();
    if (isAppError(e)) throw e;
    throw new AppError('VALIDATION_FAILED', 'The upload could not be read', {
      cause: e,
      details: [{ path: fileField, message: 'not a readable multipart/form-data body' }],
    });
  }
}
