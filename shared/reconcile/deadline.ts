/**
 * A target's time limits, derived from its policies (the schema caps the inputs so that the result
 * fits the function timeout; see shared/policy/schema.ts and infra's 900 s):
 *
 *   read     ≤ 30 s                       describing the target, fetching its metrics
 *   deadline = read + 60 s + the longest action its policies allow:
 *              max(startTimeoutSeconds, drainTimeoutSeconds + stopGraceSeconds)
 *              at the caps (600, 600 + 120) that is 30 + 60 + 720 = 810 s < 900 s
 *   lease    = deadline + 30 s, and renewed while held (shared/state/lease.ts)
 */
import type { Policy } from '../policy/schema.ts';

export const maxReadMs = 30_000;
const decideAndAuditMs = 60_000;
export const leaseMarginMs = 30_000;

export interface TargetLimits {
  readonly readMs: number;
  readonly deadlineMs: number;
  readonly leaseMs: number;
}

export function limitsFor(policies: readonly Policy[], overrides: { readonly targetTimeoutMs?: number; readonly readTimeoutMs?: number } = {}): TargetLimits {
  let actionSeconds = 0;
  for (const policy of policies) {
    const target = policy.target as { startTimeoutSeconds?: number; stopGraceSeconds?: number };
    const drain = (policy.loadBalancer as { drainTimeoutSeconds?: number } | undefined)?.drainTimeoutSeconds ?? 0;
    actionSeconds = Math.max(actionSeconds, target.startTimeoutSeconds ?? 0, drain + (target.stopGraceSeconds ?? 0));
  }
  const deadlineMs = overrides.targetTimeoutMs ?? maxReadMs + decideAndAuditMs + actionSeconds * 1000;
  const readMs = Math.min(overrides.readTimeoutMs ?? maxReadMs, deadlineMs);
  return { readMs, deadlineMs, leaseMs: deadlineMs + leaseMarginMs };
}

export class TimeoutError extends Error {
  readonly limitMs: number;
  constructor(limitMs: number) {
    super(`timed out after ${limitMs} ms`);
    this.limitMs = limitMs;
    this.name = 'TimeoutError';
  }
}

/**
 * Runs `work` with a signal that aborts after `ms` or when `parent` aborts; rejects with a
 * TimeoutError (or the parent's reason) then, even if `work` ignores the signal.
 */
export async function within<T>(ms: number, parent: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onParentAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    const stop = (reason: unknown) => {
      controller.abort(reason);
      reject(reason);
    };
    timer = setTimeout(() => stop(new TimeoutError(ms)), ms);
    onParentAbort = () => stop(parent.reason ?? new TimeoutError(ms));
    if (parent.aborted) onParentAbort();
    else parent.addEventListener('abort', onParentAbort, { once: true });
  });
  stopped.catch(() => undefined);
  const running = work(controller.signal);
  running.catch(() => undefined); // after a timeout its failure has no one to go to
  try {
    return await Promise.race([running, stopped]);
  } finally {
    clearTimeout(timer);
    if (onParentAbort) parent.removeEventListener('abort', onParentAbort);
  }
}
