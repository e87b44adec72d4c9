/**
 * A simulated clock for benches: replaces setTimeout/clearTimeout, Date.now and AbortSignal.timeout
 * while a run lasts, and runs the program as a discrete-event simulation: drain every pending
 * promise job, then jump to the next timer. Simulated minutes pass in milliseconds of real time, and every timeout the code
 * under test sets (the engine's per-target limits, retries, simulated latencies) fires in order.
 */
interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
  cancelled: boolean;
}

export class VirtualClock {
  #now: number;
  #seq = 0;
  readonly #heap: Timer[] = [];
  readonly #realSetImmediate = globalThis.setImmediate;

  constructor(start = Date.parse('2026-12-01T00:00:00Z')) {
    this.#now = start;
  }

  readonly now = (): number => this.#now;

  readonly sleep = (ms: number): Promise<void> => new Promise((resolve) => this.#schedule(ms, resolve));

  /** Runs `main` with the global timers replaced; returns its result once it settles. */
  async run<T>(main: () => Promise<T>): Promise<T> {
    const realSetTimeout = globalThis.setTimeout;
    const realClearTimeout = globalThis.clearTimeout;
    const realDateNow = Date.now;
    const realAbortTimeout = AbortSignal.timeout;
    // Code that reads the time or sets a deadline without an injected clock follows the simulation too.
    Date.now = this.now;
    AbortSignal.timeout = (ms: number) => {
      const controller = new AbortController();
      this.#schedule(ms, () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')));
      return controller.signal;
    };
    globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const timer = this.#schedule(ms ?? 0, () => fn(...args));
      return Object.assign(timer, { ref: () => timer, unref: () => timer, hasRef: () => true, refresh: () => timer, [Symbol.toPrimitive]: () => timer.seq });
    }) as unknown as typeof setTimeout;
    globalThis.clearTimeout = ((timer: Timer | undefined) => {
      if (timer && typeof timer === 'object' && 'cancelled' in timer) timer.cancelled = true;
    }) as unknown as typeof clearTimeout;
    let settled = false;
    try {
      const running = main().finally(() => {
        settled = true;
      });
      running.catch(() => undefined);
      for (;;) {
        // A macrotask turn: every promise job queued so far (and those they queue) runs first.
        await new Promise<void>((resolve) => this.#realSetImmediate(resolve));
        if (settled) break;
        const next = this.#pop();
        if (!next) throw new Error('virtual clock: nothing scheduled and the program has not finished (a promise that never settles)');
        this.#now = Math.max(this.#now, next.at);
        next.fire();
      }
      return await running;
    } finally {
      globalThis.setTimeout = realSetTimeout;
      globalThis.clearTimeout = realClearTimeout;
      Date.now = realDateNow;
      AbortSignal.timeout = realAbortTimeout;
    }
  }

  #schedule(ms: number, fire: () => void): Timer {
    const timer: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fire, cancelled: false };
    const heap = this.#heap;
    heap.push(timer);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
    return timer;
  }

  #pop(): Timer | undefined {
    const heap = this.#heap;
    while (heap.length > 0) {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
          if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m]!, heap[i]!];
          i = m;
        }
      }
      if (!top.cancelled) return top;
    }
    return undefined;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
