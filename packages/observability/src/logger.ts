import { pino, stdTimeFunctions } from 'pino';
import type {
  Bindings,
  ChildLoggerOptions,
  Logger as PinoLogger,
  LoggerOptions as PinoLoggerOptions,
} from 'pino';
import { createPrettyStream } from './pretty';
import type { LogDestination } from './pretty';
import { redactFields, scrubMessage, serializeError, serializeRequest, serializeResponse } from './redaction';
import type { SecretClass } from './secret-classes';
import { SecretRegistry } from './secret-registry';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Added to every line as `name` (e.g. "gateway"). */
  name?: string;
  /** Where lines go; default stdout. For 'pretty' the human-readable text is written here. */
  destination?: LogDestination;
  /** Known secret values masked anywhere in a line; share one registry between loggers of one process. */
  secrets?: SecretRegistry;
  /** 'pretty' only: ANSI colours (default: when stdout is a TTY). */
  colors?: boolean;
}

/** A pino logger that also masks registered secret values. Child loggers share the registry. */
export type Logger = PinoLogger & {
  readonly secrets: SecretRegistry;
  /**
   * Masks `value` in every later line of this logger and its children, and wherever `secrets.maskText` runs
   * (ignored when under 6 chars).
   */
  registerSecret(value: string | null | undefined, secretClass?: SecretClass): void;
};

/**
 * A line that replaces one whose redaction threw: a logging call must never throw into request handling,
 * and a line that could not be checked must not be printed.
 */
const REDACTION_FAILED = `{"level":"error","msg":"log line dropped: secret redaction failed"}\n`;

/** Creates the process logger: pino with header/field/URL redaction, key scrubbing and secret masking. */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = options.secrets ?? new SecretRegistry();
  // Without a destination pino builds its own stdout stream, flushed on exit.
  const stream =
    options.format === 'pretty'
      ? createPrettyStream(
          options.destination ?? process.stdout,
          options.colors === undefined ? {} : { colors: options.colors },
        )
      : options.destination;
  const pinoOptions: PinoLoggerOptions = {
    level: options.level,
    ...(options.name === undefined ? {} : { name: options.name }),
    timestamp: stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (record) => redactFields(record),
    },
    serializers: {
      err: serializeError,
      error: serializeError,
      req: serializeRequest,
      res: serializeResponse,
      msg: scrubMessage,
    },
    hooks: {
      // The final serialized line: the one place that sees bindings, nested fields and the message alike.
      streamWrite(line) {
        if (secrets.size === 0) return line;
        try {
          return secrets.redactJsonLine(line);
        } catch {
          return REDACTION_FAILED;
        }
      },
    },
  };
  const logger = stream ? pino(pinoOptions, stream) : pino(pinoOptions);
  // pino does not run formatters over child bindings (it resets that formatter for children), so redact
  // them on the way in. Children are created with Object.create(parent): they inherit this wrapper.
  // Taken off the object unbound on purpose: it is re-applied with each caller's `this` below.
  const pinoChild: PinoLogger['child'] = Reflect.get(logger, 'child');
  Object.defineProperties(logger, {
    child: {
      value: function child(this: PinoLogger, bindings: Bindings, childOptions?: ChildLoggerOptions) {
        return Reflect.apply(pinoChild, this, [redactFields(bindings), childOptions]) as PinoLogger;
      },
      enumerable: false,
    },
    secrets: { value: secrets, enumerable: false },
    registerSecret: {
      value: (value: string | null | undefined, secretClass?: SecretClass) =>
        void secrets.add(value, secretClass),
      enumerable: false,
    },
  });
  return logger as Logger;
}
