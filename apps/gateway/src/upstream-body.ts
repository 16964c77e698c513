import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { arrayBuffer } from 'node:stream/consumers';
import { asReadable } from '@keyway/providers';
import { errors, util } from 'undici';
import type { Dispatcher } from 'undici';

/** Marks the end of the body in the queue of what arrived before anyone read it. */
const END = Symbol('end');
/** What a body holds for a reader that is not reading before undici stops reading the socket (a Readable's mark). */
const HOLD_BYTES = 64 * 1024;

/**
 * An upstream response body as the relay reads it: `data`, `end`, `error` and `close` events, `pause`/`resume`,
 * `destroy` (which aborts the upstream call) and `arrayBuffer()`. What undici's `request()` API gives is a full
 * Readable stream (its buffer, state machine and several `nextTick`s per response) made only to be read chunk by
 * chunk here; this is fed by undici's dispatch handler directly: a chunk arriving while the reader reads goes out
 * as it came. What arrives before a `data` listener is attached (a small answer comes with its headers, in the same
 * read) is held and handed over, in order, once one is.
 */
export class UpstreamBody extends EventEmitter {
  destroyed = false;
  readableEnded = false;
  private queue: Array<Buffer | typeof END> = [];
  private flowing = false;
  private paused = false;
  private flushing = false;
  /** undici was told to stop reading the socket (a chunk came while paused): it waits for `resumeSocket`. */
  private stalled = false;
  private complete = false;
  /** Bytes held for a reader that has not started (or paused): undici keeps reading up to {@link HOLD_BYTES}. */
  private held = 0;

  constructor(
    private readonly abortCall: (reason: Error) => void,
    private readonly resumeSocket: () => void,
  ) {
    super();
  }

  override on(event: string | symbol, listener: Parameters<EventEmitter['on']>[1]): this {
    super.on(event, listener);
    // As a Readable does: a `data` listener starts the flow unless the reader paused it.
    if (event === 'data' && !this.flowing && !this.paused) {
      this.flowing = true;
      this.schedule();
    }
    return this;
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    if (this.destroyed) return this;
    this.paused = false;
    this.flowing = true;
    this.schedule();
    return this;
  }

  /** Stops the body: aborts the upstream call unless it completed, then `error` (when given) and `close`. */
  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.queue.length = 0;
    this.held = 0;
    if (!this.complete) this.abortCall(error ?? new errors.RequestAbortedError());
    queueMicrotask(() => {
      if (error && this.listenerCount('error') > 0) this.emit('error', error);
      this.emit('close');
    });
    return this;
  }

  /** The whole body (model lists, which are small). */
  arrayBuffer(): Promise<ArrayBuffer> {
    return arrayBuffer(asReadable(this));
  }

  /** A chunk from undici; false asks it to stop reading the socket until {@link resume}. */
  push(chunk: Buffer): boolean {
    if (this.destroyed) return true;
    if (this.flowing && !this.paused && this.queue.length === 0 && !this.flushing) {
      this.emit('data', chunk);
      if (!this.paused) return true;
    } else {
      this.queue.push(chunk);
      this.held += chunk.length;
      if (this.held < HOLD_BYTES && !this.paused) return true;
    }
    this.stalled = true;
    return false;
  }

  /** The upstream finished the body. */
  end(): void {
    this.complete = true;
    if (this.destroyed) return;
    if (this.flowing && !this.paused && this.queue.length === 0 && !this.flushing) this.finish();
    else this.queue.push(END);
  }

  /** The upstream call failed after its headers: the body breaks (what was not read yet is dropped). */
  fail(error: Error): void {
    this.complete = true;
    if (this.destroyed) return;
    this.destroyed = true;
    this.queue.length = 0;
    queueMicrotask(() => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
      this.emit('close');
    });
  }

  private finish(): void {
    this.readableEnded = true;
    this.emit('end');
    if (!this.destroyed) {
      this.destroyed = true;
      this.emit('close');
    }
  }

  private schedule(): void {
    if (this.flushing) return;
    this.flushing = true;
    queueMicrotask(() => this.flush());
  }

  /** Hands what was held to the reader, in order, while it reads; then lets undici read the socket again. */
  private flush(): void {
    while (this.queue.length > 0 && !this.paused && !this.destroyed) {
      const item = this.queue.shift() as Buffer | typeof END;
      if (item !== END) this.held -= item.length;
      if (item === END) {
        this.flushing = false;
        this.finish();
        return;
      }
      this.emit('data', item);
    }
    this.flushing = false;
    if (this.stalled && !this.paused && !this.destroyed && this.flowing) {
      this.stalled = false;
      this.resumeSocket();
    }
  }
}

/** An upstream response whose body is an {@link UpstreamBody}. */
export interface DispatchedResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: UpstreamBody;
}

/**
 * One request sent through a dispatcher with this object as undici's handler (its methods on the prototype: no
 * closures per call). `response` resolves at the response's head (1xx skipped) and rejects with undici's error
 * when the call fails before it; {@link abort} ends the call at any time — asked for before undici connected, it
 * takes effect as it connects.
 */
export class UpstreamCall implements Dispatcher.DispatchHandler {
  readonly response: Promise<DispatchedResponse>;
  private resolve!: (response: DispatchedResponse) => void;
  private reject!: (error: Error) => void;
  private abortCall: ((reason: Error) => void) | null = null;
  private reason: Error | null = null;
  private body: UpstreamBody | null = null;
  private settled = false;

  constructor(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions) {
    this.response = new Promise<DispatchedResponse>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    dispatcher.dispatch(options, this);
  }

  /** Aborts the call (before its head: `response` rejects with `reason`; after it: the body breaks). */
  abort(reason: Error = new errors.RequestAbortedError()): void {
    if (this.body) this.body.destroy(reason);
    else if (this.abortCall) this.abortCall(reason);
    else this.reason ??= reason;
  }

  onConnect(abort: (reason: Error) => void): void {
    if (this.reason) return abort(this.reason);
    this.abortCall = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    const body = new UpstreamBody(this.abortCall as (reason: Error) => void, resume);
    this.body = body;
    this.settled = true;
    this.resolve({ statusCode, headers: util.parseHeaders(rawHeaders), body });
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.body ? this.body.push(chunk) : true;
  }

  onComplete(): void {
    this.body?.end();
  }

  onError(error: Error): void {
    if (this.body) this.body.fail(error);
    else if (!this.settled) {
      this.settled = true;
      this.reject(error);
    }
  }
}
