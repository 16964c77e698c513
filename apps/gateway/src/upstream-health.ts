const BASE_PENALTY_MS = 1000;
const MAX_PENALTY_MS = 60_000;

interface State {
  strikes: number;
  until: number;
}

/**
 * Remembers upstream URLs that failed with connect errors or 5xx and skips them for a short, growing interval,
 * so an outage of one upstream is not blamed on the keys. Lives outside the config snapshot: penalties survive
 * reloads.
 */
export class UpstreamHealth {
  private readonly states = new Map<string, State>();

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
    const s = this.states.get(url) ?? { strikes: 0, until: 0 };
    if (kind === 'brief') {
      s.until = Math.max(s.until, now + BASE_PENALTY_MS);
      this.states.set(url, s);
      return BASE_PENALTY_MS;
    }
    s.strikes = Math.min(s.strikes + 1, 20);
    const ms = Math.min(MAX_PENALTY_MS, BASE_PENALTY_MS * 2 ** (s.strikes - 1));
    s.until = now + ms;
    this.states.set(url, s);
    return ms;
  }

  /** A success clears the record. */
  succeed(url: string): void {
    if (this.states.size > 0) this.states.delete(url);
  }
}
