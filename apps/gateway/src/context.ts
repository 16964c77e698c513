import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestLogRecord } from '@keyway/contracts';
import type { ConfigProblem } from '@keyway/core';
import type { AlertSink } from '@keyway/alerts';
import type { SessionLookup } from '@keyway/providers';
import type { KeyPool } from '@keyway/keypool';
import type { Tracing } from '@keyway/observability';
import type { AffinityView, HealthView, PacingView } from './attempt-planner';
import type { AccessKeyRuntime, GroupRuntime } from './runtime';
import type { StormGuard } from './storm-guard';
import type { RequestTrace } from './tracing';
import type { Translation } from './translate';
import type { UpstreamClients } from './upstream-clients';
import type { UpstreamHealth } from './upstream-health';

/** What one proxied request needs beyond the group. */
export interface ForwardContext {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  group: GroupRuntime;
  path: string;
  query: string;
  body: Buffer | null;
  /** The proxy key this request presented, in plaintext: masked wherever an upstream echoes it back. */
  proxyKey: string;
  /** What the log record shows of it (null when the request was refused before it was accepted). */
  proxyKeyMasked: string | null;
  /** The access key the presented secret belongs to (null: a bare proxy key, or not accepted yet). */
  accessKey: AccessKeyRuntime | null;
  /** The model the client named, when a step before forwarding read it already (read once per request). */
  model?: string | null;
  clientIp: string;
  keepForwarded: boolean;
  started: number;
  startedAt: number;
  /**
   * What the client closing its connection early must do now (abort the attempt in flight, end the relay): the
   * request has one `close` listener, which calls this hook; each phase sets it and clears it when done.
   */
  closeHook: (() => void) | null;
  /** The request's spans (absent or null: tracing off and no trace context to pass upstream). */
  trace?: RequestTrace | null;
  /** Set when the caller speaks another dialect than (some of) the groups it is served by (format translation). */
  translation?: Translation;
  /** How session affinity reads this request's session (made on first use; null until then). */
  sessionLookup: SessionLookup | null;
}

/** Collaborators of the forwarding loop. */
export interface ForwardDeps {
  keyPool: KeyPool;
  clients: UpstreamClients;
  guard: StormGuard;
  upstreamHealth: UpstreamHealth;
  /** The two above as the attempt planner reads them (built once, not per request). */
  health: HealthView;
  onRecord: (record: RequestLogRecord) => void;
  onBrokenStream?: (info: { requestId: string; group: string; error: string }) => void;
  /** A group's configuration could not be sent (the caller throttles how often it logs this). */
  onConfigProblem?: (group: string, problem: ConfigProblem) => void;
  /** Masks every secret the process knows (AUTH_KEY, upstream keys …) in text that leaves it. */
  secrets?: SecretMasker;
  /** Upstream-key pacing (absent: no pacing at all). */
  pacing?: KeyPacer;
  /** Session affinity (absent: off everywhere). */
  affinity?: SessionAffinity;
  /** OpenTelemetry (absent: no spans, and no trace context sent upstream). */
  tracing?: Tracing;
  /** Where `group.exhausted` is reported (absent: nowhere); never blocks. */
  alerts?: AlertSink;
}

/**
 * Upstream-key pacing: group `keyLimits` on the counter layer, plus the allowances the providers' rate-limit
 * headers state (`x-ratelimit-*`, `anthropic-ratelimit-*`), which lower a key's allowance until their reset.
 */
export interface KeyPacer extends PacingView {
  /** Learns from a response's rate-limit headers (`model` = the model sent upstream). */
  observe(
    group: GroupRuntime,
    keyId: number,
    model: string | null,
    headers: Record<string, string | string[] | undefined>,
  ): void;
  /** Adds a finished request's tokens to the key's `tpm` windows. */
  record(group: GroupRuntime, keyId: number, model: string | null, tokens: number): void;
}

/** Session affinity (group `affinity.mode = session`). */
export interface SessionAffinity extends AffinityView {
  /** The request's session id in `group` (null: affinity off there, or no session found). Cached per request. */
  sessionOf(ctx: ForwardContext, group: GroupRuntime): string | null;
  /** A session was served by `keyId` in `group`: later requests of the session prefer it. */
  served(group: GroupRuntime, session: string, keyId: number): void;
}

/** The process's secret registry (observability's `SecretRegistry`), as far as the gateway uses it. */
export interface SecretMasker {
  /** Masks `extras`, every registered secret and key-shaped material in text leaving the process. */
  maskText(text: string, extras?: Iterable<string | null | undefined>): string;
}
