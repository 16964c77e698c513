const BASE_PENALTY_MS = 1000;
const MAX_PENALTY_MS = 60_000;
/** An upstream failing (with no success in between) for longer than this is down: `upstream.down`. */
export const UPSTREAM_DOWN_AFTER_MS = 60_000;

interface State {
  strikes: number;
  until: number;
  /** When the current run of failures began (0: only brief penalties so far). */
  since: number;
  /** Whether `onDown` was told about this run. */
  reported: boolean;
}

/**
 * Remembers upstream URLs that failed with connect errors or 5xx and skips them for a short, growing interval,
 * so an outage of one upstream is not blamed on the keys. Lives outside the config snapshot: penalties survive
 * reloads.
 */
export class UpstreamHealth {
  private readonly states = new Map<string, State>();

  /** `onDown` hears once per run of failures that outlasts UPSTREAM_DOWN_AFTER_MS; it must not block. */
  constructor(private readonly onDown?: (url: string, failingForMs: number) => void) {}

  /** Whether the URL is serving its penalty now. */
  isPenalized(url: string, now = Date.now()): boolean {
    const s = this.states.get(url);
    return s !== undefined && s.until > now;
  }

  /**
   * Records a failure: 1 s, 2 s, 4 s … up to 60 s. `brief` (the provider said it is overloaded: busy, not
   * broken) penalises for 1 s without growing the interval.
   */
  fail(url: string, now = Date.now(), kind: 'failure' | 'brief' = 'failure'): number {
    const s = this.states.get(url) ?? { strikes: 0, until: 0, since: 0, reported: false };
    if (kind === 'brief') {
      s.until = Math.max(s.until, now + BASE_PENALTY_MS);
      this.states.set(url, s);
      return BASE_PENALTY_MS;
    }
    s.strikes = Math.min(s.strikes + 1, 20);
    const ms = Math.min(MAX_PENALTY_MS, BASE_PENALTY_MS * 2 ** (s.strikes - 1));
    s.until = now + ms;
    if (s.since === 0) s.since = now;
    this.states.set(url, s);
    if (!s.reported && now - s.since > UPSTREAM_DOWN_AFTER_MS) {
      s.reported = true;
      this.onDown?.(url, now - s.since);
    }
    return ms;
  }

  /** A success clears the record. */
  succeed(url: string): void {
    if (this.states.size > 0) this.states.delete(url);
  }
}
