/**
 * The one structured-logger shape every package and app writes to; a pino logger fits. `obj` carries the fields
 * (ids, counts, error codes), `msg` the human line. Never put a key value or another secret in either.
 */
export interface LogPort {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
