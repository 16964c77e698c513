/** Per client address, at most one line per this long. */
const WINDOW_MS = 60_000;
/** Addresses remembered at once: beyond this (a spray from many addresses) old windows are dropped first. */
const MAX_CLIENTS = 10_000;
/** Lines per minute across all clients: a spray from many addresses is summarised, not logged per address. */
const MAX_LINES_PER_WINDOW = 100;

interface ClientWindow {
  since: number;
  suppressed: number;
}

/** One sampled log line: the client, the group, and how many failures of that client went unlogged before it. */
export interface AuthFailureLine {
  clientIp: string;
  group: string;
  reason: 'missing' | 'invalid';
  suppressed: number;
  /** Failures of other clients left unlogged because the per-minute line budget was spent (first line after). */
  unloggedClients?: number;
}

/**
 * Samples proxy-key failures for the log: the first failure of a client address per minute is logged (with the
 * number suppressed since that client's previous line), the rest only counted — so a guessing run cannot flood
 * the log, and every client doing it still shows up once a minute. The presented key is never part of a line.
 */
export class AuthFailureSampler {
  private readonly clients = new Map<string, ClientWindow>();
  private windowStart = 0;
  private lines = 0;
  private unlogged = 0;

  constructor(private readonly log: (line: AuthFailureLine) => void) {}

  /** Notes one failure; logs it when it opens a new window for its client. */
  fail(clientIp: string, group: string, reason: 'missing' | 'invalid', now = Date.now()): void {
    const w = this.clients.get(clientIp);
    if (w && now - w.since < WINDOW_MS) {
      w.suppressed++;
      return;
    }
    const suppressed = w?.suppressed ?? 0;
    if (w) {
      w.since = now;
      w.suppressed = 0;
    } else {
      if (this.clients.size >= MAX_CLIENTS) this.prune(now);
      this.clients.set(clientIp, { since: now, suppressed: 0 });
    }
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.lines = 0;
    }
    if (this.lines >= MAX_LINES_PER_WINDOW) {
      this.unlogged++;
      return;
    }
    this.lines++;
    const line: AuthFailureLine = { clientIp, group, reason, suppressed };
    if (this.unlogged > 0) {
      line.unloggedClients = this.unlogged;
      this.unlogged = 0;
    }
    this.log(line);
  }

  private prune(now: number): void {
    for (const [ip, w] of this.clients) if (now - w.since >= WINDOW_MS) this.clients.delete(ip);
    // Still full: forget the oldest half (Map iterates in insertion order).
    let drop = this.clients.size >= MAX_CLIENTS ? this.clients.size / 2 : 0;
    for (const ip of this.clients.keys()) {
      if (drop-- <= 0) break;
      this.clients.delete(ip);
    }
  }
}
