/**
 * The shard queue of local mode (and the bench): the SQS semantics the workers rely on, in this
 * process. SQS has no local implementation here, and this is not one either: no HTTP, no
 * persistence. What it keeps from SQS: `send` returns before any shard runs; at most `concurrency`
 * shards run at once (the worker's reserved concurrency); a shard whose consumer throws is
 * delivered again after `retryDelayMs` (the worker's quick visibility change), up to
 * `maxReceives` times, then lands in `deadLetters`.
 */
import type { ShardQueue } from './dispatcher.ts';
import type { ShardMessage } from './message.ts';

export interface InProcessQueueOptions {
  readonly concurrency: number;
  readonly retryDelayMs: number;
  readonly maxReceives: number;
  /** Time from send (or a retry becoming visible) to a worker picking the shard up. Default 0. */
  readonly deliveryDelayMs?: number;
}

export type ShardConsumer = (message: ShardMessage, receiveCount: number) => Promise<void>;

interface Pending {
  readonly message: ShardMessage;
  receives: number;
}

export class InProcessQueue implements ShardQueue {
  readonly deadLetters: Array<{ message: ShardMessage; error: string }> = [];
  readonly #consume: ShardConsumer;
  readonly #options: InProcessQueueOptions;
  readonly #ready: Pending[] = [];
  #running = 0;
  #waiting = 0;
  #idle: Array<() => void> = [];

  constructor(consume: ShardConsumer, options: InProcessQueueOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new Error(`concurrency: ${options.concurrency}; allowed: a whole number ≥ 1`);
    if (!Number.isInteger(options.maxReceives) || options.maxReceives < 1) throw new Error(`maxReceives: ${options.maxReceives}; allowed: a whole number ≥ 1`);
    this.#consume = consume;
    this.#options = options;
  }

  async send(messages: readonly ShardMessage[]): Promise<void> {
    for (const message of messages) this.#later({ message, receives: 0 }, this.#options.deliveryDelayMs ?? 0);
  }

  /** Resolves when no shard is queued, running or waiting for a retry. */
  drained(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #later(pending: Pending, delayMs: number): void {
    this.#waiting++;
    setTimeout(() => {
      this.#waiting--;
      this.#ready.push(pending);
      this.#pump();
    }, delayMs);
  }

  #pump(): void {
    while (this.#running < this.#options.concurrency && this.#ready.length > 0) {
      const pending = this.#ready.shift()!;
      pending.receives++;
      this.#running++;
      void this.#consume(pending.message, pending.receives)
        .catch((error: unknown) => {
          if (pending.receives >= this.#options.maxReceives) this.deadLetters.push({ message: pending.message, error: error instanceof Error ? error.message : String(error) });
          else this.#later(pending, this.#options.retryDelayMs + (this.#options.deliveryDelayMs ?? 0));
        })
        .finally(() => {
          this.#running--;
          this.#pump();
          if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve();
        });
    }
  }

  #isIdle(): boolean {
    return this.#running === 0 && this.#waiting === 0 && this.#ready.length === 0;
  }
}
