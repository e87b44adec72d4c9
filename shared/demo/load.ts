/**
 * The demo's load generator: open-loop HTTP requests at a rate that follows a profile over time,
 * one new connection per request (no keep-alive, so every request is a session HAProxy counts),
 * with a bound on requests in flight. It only ever talks to 127.0.0.1.
 */
import { request } from 'node:http';

/** Requests per second wanted at second `t` of the run. */
export type RateProfile = (t: number) => number;

/**
 * 0 → peak → 0 over `durationSeconds`: a linear ramp up over the first 30%, a plateau to 45%,
 * a ramp down to 60%, then idle for the last 40% so that scale-in can be seen within the run.
 */
export function rampProfile(durationSeconds: number, peak: number): RateProfile {
  const up = 0.3 * durationSeconds;
  const plateauEnd = 0.45 * durationSeconds;
  const downEnd = 0.6 * durationSeconds;
  return (t) => {
    if (t <= 0 || t >= downEnd) return 0;
    if (t < up) return (peak * t) / up;
    if (t < plateauEnd) return peak;
    return (peak * (downEnd - t)) / (downEnd - plateauEnd);
  };
}

export interface LoadOptions {
  /** Loopback port of the frontend (HAProxy's). */
  readonly port: number;
  readonly path: string;
  readonly profile: RateProfile;
  /** Requests in flight at most; beyond it the generator holds back (counted in `held`). */
  readonly maxInFlight: number;
  /** A request that takes longer fails. */
  readonly timeoutMs: number;
  /** How often the generator wakes up to send what the profile asks for. */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

export interface LoadStats {
  readonly sent: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Requests the profile asked for that were not sent because `maxInFlight` were in flight. */
  readonly held: number;
  readonly inFlight: number;
  /** Requests sent in each whole second of the run (index = second). */
  readonly sentPerSecond: readonly number[];
  /** The first few failures, e.g. `HTTP 503` or `ECONNRESET`, with their counts. */
  readonly failures: Readonly<Record<string, number>>;
}

export interface LoadRun {
  stats(): LoadStats;
  /** Requests per second sent over the last `seconds` whole seconds. */
  recentRate(seconds: number): number;
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<void>;
}

const maxFailureKinds = 10;

export function startLoad(options: LoadOptions): LoadRun {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const intervalMs = options.intervalMs ?? 20;
  let owed = 0;
  let lastTick = startedAt;
  let sent = 0;
  let succeeded = 0;
  let failed = 0;
  let held = 0;
  let inFlight = 0;
  const sentPerSecond: number[] = [];
  const failures: Record<string, number> = {};
  const pending = new Set<Promise<void>>();

  const fail = (kind: string) => {
    failed++;
    if (kind in failures || Object.keys(failures).length < maxFailureKinds) failures[kind] = (failures[kind] ?? 0) + 1;
  };

  const send = (): Promise<void> =>
    new Promise<void>((resolve) => {
      let settled = false;
      const done = (ok: boolean, kind?: string) => {
        if (settled) return;
        settled = true;
        inFlight--;
        if (ok) succeeded++;
        else fail(kind ?? 'unknown');
        resolve();
      };
      inFlight++;
      const req = request(
        { host: '127.0.0.1', port: options.port, path: options.path, method: 'GET', agent: false, headers: { connection: 'close' }, timeout: options.timeoutMs },
        (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode === 200, `HTTP ${res.statusCode}`));
          res.on('error', (error) => done(false, (error as NodeJS.ErrnoException).code ?? error.message));
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: `timeout after ${options.timeoutMs} ms` })));
      req.on('error', (error) => done(false, (error as NodeJS.ErrnoException).code ?? error.message));
      req.end();
    });

  const tick = () => {
    const at = now();
    const t = (at - startedAt) / 1000;
    // Integrate the profile over the elapsed slice (midpoint), so the rate holds whatever the timer's jitter.
    owed += (options.profile(t - (at - lastTick) / 2000) * (at - lastTick)) / 1000;
    lastTick = at;
    const second = Math.floor(t);
    while (sentPerSecond.length <= second) sentPerSecond.push(0);
    while (owed >= 1) {
      owed--;
      if (inFlight >= options.maxInFlight) {
        held++;
        continue;
      }
      sent++;
      sentPerSecond[second]!++;
      const p = send();
      pending.add(p);
      void p.then(() => pending.delete(p));
    }
  };
  const timer = setInterval(tick, intervalMs);

  return {
    stats: () => ({ sent, succeeded, failed, held, inFlight, sentPerSecond: [...sentPerSecond], failures: { ...failures } }),
    recentRate(seconds) {
      const current = Math.floor((now() - startedAt) / 1000);
      const from = Math.max(0, current - seconds);
      const window = sentPerSecond.slice(from, current);
      return window.length === 0 ? 0 : window.reduce((a, b) => a + b, 0) / window.length;
    },
    async stop() {
      clearInterval(timer);
      await Promise.all([...pending]);
    },
  };
}
