// The SQLite writer's worker thread: it owns the connection (openSqliteOwner), checkpoints the write-ahead log on
// it, and runs the calls that createSqliteWriter posts from the main thread, replying to each by id. Calls
// overlap as they would in one thread: the owner's transactions take turns between its awaits.
import { parentPort, workerData } from 'node:worker_threads';
import type { SqliteWriter, SqliteWriterOptions } from './sqlite-writer';
import type { LogRow, UsageBatch } from '@keyway/contracts';
import { CHECKPOINT_EVERY_MS, openSqliteOwner } from './sqlite-writer-owner';

/** What the thread is started with. */
export interface WriterThreadData {
  url: string;
  /** Post a {@link TransactionEvent} after each transaction (only when someone listens: a message each). */
  reportTransactions: boolean;
}

/** A call of one of the writer's operations, with its arguments as structured clones. */
export interface WriterCall {
  id: number;
  /** An operation of the owner, or `writeLogChunks`: request logs as JSON arrays of their rows, in UTF-8. */
  op: keyof SqliteWriter | 'writeLogChunks';
  args: unknown[];
}

/** An error as it crosses threads: structured cloning of an Error drops its `code` (SQLITE_BUSY…). */
export interface WriterFailure {
  name: string;
  message: string;
  code?: unknown;
}

/** What the thread posts back: a call's result or failure, or a transaction it ran. */
export type WriterReply =
  { id: number; value: unknown } | { id: number; error: WriterFailure } | { transaction: TransactionEvent };

/** The arguments of SqliteWriterOptions.onTransaction. */
export type TransactionEvent = Parameters<NonNullable<SqliteWriterOptions['onTransaction']>>;

function failure(err: unknown): WriterFailure {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const { code } = err as { code?: unknown };
  return { name: err.name, message: err.message, ...(code === undefined ? {} : { code }) };
}

/** A chunk's rows: its bytes read as UTF-8 and parsed (a chunk that is not an array of rows is refused). */
function rowsOf(chunk: Uint8Array): LogRow[] {
  const rows: unknown = JSON.parse(
    Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8'),
  );
  if (!Array.isArray(rows) || !rows.every(Array.isArray)) throw new TypeError('a log chunk holds no rows');
  return rows as LogRow[];
}

const port = parentPort;
if (port) {
  const data = workerData as WriterThreadData;
  const post = (reply: WriterReply) => port.postMessage(reply);
  // This thread also checkpoints the write-ahead log, on the same connection between its transactions (see
  // startCheckpoints in sqlite-writer-owner.ts); `close` runs the last checkpoint before closing it.
  const writer = openSqliteOwner(data.url, {
    checkpointEveryMs: CHECKPOINT_EVERY_MS,
    ...(data.reportTransactions
      ? { onTransaction: (operation, rows, ms) => post({ transaction: [operation, rows, ms] }) }
      : {}),
  });
  // Typed loosely on purpose: the call names the operation, and each operation takes its own arguments.
  const ops = writer as unknown as Record<keyof SqliteWriter, (...args: unknown[]) => Promise<unknown>>;
  port.on('message', (call: WriterCall) => {
    // Request logs arrive as chunks of bytes, each the JSON array of its rows (see logRowText), usage batches as one
    // JSON string (see createSqliteWriter).
    const [first] = call.args;
    let run: Promise<unknown>;
    try {
      run =
        call.op === 'writeLogChunks'
          ? writer.writeLogRows((first as Uint8Array[]).flatMap((chunk) => rowsOf(chunk)))
          : call.op === 'applyUsage' && typeof first === 'string'
            ? writer.applyUsage(JSON.parse(first) as UsageBatch)
            : ops[call.op](...call.args);
    } catch (err) {
      // A text that does not parse fails its call, not the thread (and with it every other pending call).
      run = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    void run.then(
      (value) => {
        post({ id: call.id, value });
        // The main thread sends `close` last, once every other call has been answered.
        if (call.op === 'close') port.close();
      },
      (err: unknown) => post({ id: call.id, error: failure(err) }),
    );
  });
}
