import type { Channel } from '@keyway/contracts';
import type { ClassifierRules } from '@keyway/core';
import type { CredentialSlots } from './credential';
import type { ModelListFormat } from './model-list';

/** Outgoing request headers as the gateway builds them (lower-case names). */
export type HeaderMap = Record<string, string | string[] | undefined>;

/** The parts of a proxied request a provider looks at. */
export interface RequestView {
  method: string;
  /** Path after `/proxy/{group}`, starting with `/`. */
  path: string;
  /** Raw query string without `?`, proxy `key` already removed. */
  query: string;
  headers: HeaderMap;
  body: Buffer | null;
}

/** Where the gateway sends an attempt, after the provider placed the credential. */
export interface UpstreamTarget {
  path: string;
  query: string;
}

/** A request the worker sends to check whether a key works. */
export interface ValidationRequest {
  method: 'GET' | 'POST';
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string | null;
}

/**
 * Token counts of one response, as API.md "Access keys" defines tokens: prompt tokens include cached ones (and
 * Anthropic's cache writes), completion tokens include reasoning.
 */
export interface Usage {
  promptTokens: number | null;
  completionTokens: number | null;
  /** Of the prompt tokens, those read from the provider's cache (billed at the cached-input price). */
  cachedTokens: number | null;
}

/** The group fields a provider needs to build a validation request. */
export interface ValidationGroup {
  testModel: string;
  validationEndpoint: string;
}

/** A model named in the request path (Gemini's `/models/{model}:action`). */
export interface PathModel {
  /** The model, percent-decoded. */
  model: string;
  /** The same path naming `other` instead. */
  withModel(other: string): string;
}

/**
 * One channel's protocol knowledge. Nothing outside its folder knows a provider's quirks: adding a channel is
 * its folder plus one line in the registry.
 */
export interface Provider {
  readonly id: Channel;
  /**
   * Where this channel's clients and upstream carry a credential. Every channel's slots are cleaned from every
   * forwarded request and read for the proxy key.
   */
  readonly credentials: CredentialSlots;
  /** Response headers (lower-case) naming the upstream account behind the pool: never relayed to a client. */
  readonly accountHeaders: readonly string[];
  /**
   * Path prefixes this channel serves at the gateway root (key-routed endpoints), matched at segment
   * boundaries; across channels the longest match wins (`/v1/messages` beats `/v1`).
   */
  readonly rootPaths: readonly string[];
  /**
   * Request headers only this channel's clients send (lower-case; Anthropic's `anthropic-version`): a root path
   * that several channels serve (`GET /v1/models`) belongs to the channel whose header the request carries.
   */
  readonly rootHeaders?: readonly string[];
  /** The model named in the path, when this channel names it there rather than in the body. */
  modelInPath?(path: string): PathModel | null;
  /** The format of a model-list request's answer, or null when the request does not list models. */
  modelList(method: string, path: string): ModelListFormat | null;
  /** Places the upstream credential on the headers (and maybe the query); drops nothing else. */
  applyKey(headers: HeaderMap, key: string, target: UpstreamTarget): UpstreamTarget;
  /** Whether the client asked for a streamed response. */
  isStream(req: RequestView): boolean;
  /** The requested model, cheaply (no full JSON parse). */
  extractModel(req: RequestView): string | null;
  /** A gateway-made error in this channel's dialect. */
  renderError(status: number, code: string, message: string): string;
  /** Classifier hints for this provider's error bodies and headers. */
  readonly classifierRules: ClassifierRules;
  /** The request that tells whether a key works (2xx = valid). */
  validationRequest(group: ValidationGroup, key: string): ValidationRequest;
  /** Token usage from a complete JSON response body. */
  usageFromJson(body: unknown): Usage | null;
  /**
   * Top-level fields of a JSON response body that hold its usage (`usage`, `usageMetadata`): when given, only that
   * object is parsed and handed to `usageFromJson` as `{ [field]: value }` rather than the whole relayed body.
   */
  readonly usageFields?: readonly string[];
  /**
   * Token usage from one SSE `data:` payload (already JSON-parsed); null when the event carries none. An event
   * may carry only one half (Anthropic: input in `message_start`, output in `message_delta`; the other is null),
   * so the caller merges a stream's events field by field, the last non-null value winning.
   */
  usageFromEvent(event: unknown): Usage | null;
  /** Set when some of this channel's streams carry usage only if the client asks for it (OpenAI chat). */
  readonly streamUsage?: StreamUsage;
}

/**
 * Usage a channel's stream carries only on request: the gateway requests it for clients that did not (token
 * limits, budgets and cost must see every stream) and removes what the request added from the client's stream.
 */
export interface StreamUsage {
  /** Whether the client's request streams without usage (then the gateway asks for it). */
  missing(path: string, body: Buffer | null): boolean;
  /** The request body asking for usage too. */
  request(body: Buffer): Buffer;
  /**
   * One SSE `data:` payload of such a stream as the client would have had it without the request: the added
   * fields removed, or null for an event the request added (it still counts for usage).
   */
  strip(data: string): string | null;
}
