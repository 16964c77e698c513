import { taskRefSchema } from '@keyway/contracts';
import type { Http } from './http';

/** What the GPT-Load import reads: an uploaded SQLite file, or a database URL / GPT-Load DATABASE_DSN. */
export type GptLoadSource = { file: File } | { databaseUrl: string };

/** `POST /api/import/gpt-load`: starts the import (or its dry run) as a task; progress via `/api/tasks/{id}`. */
export function createImportsApi(http: Http) {
  return {
    gptLoad: async (source: GptLoadSource, encryptionKey: string, dryRun: boolean): Promise<string> => {
      let body: unknown;
      if ('file' in source) {
        const form = new FormData();
        form.set('file', source.file, source.file.name);
        if (encryptionKey !== '') form.set('encryptionKey', encryptionKey);
        form.set('dryRun', String(dryRun));
        body = form;
      } else {
        body = {
          databaseUrl: source.databaseUrl,
          ...(encryptionKey === '' ? {} : { encryptionKey }),
          dryRun,
        };
      }
      // Silent: the card shows the refusal next to the form.
      return (await http.json('POST', '/api/import/gpt-load', taskRefSchema, { body, silent: true })).taskId;
    },
  };
}
