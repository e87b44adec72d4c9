/**
 * The lease / intent / trigger-marker protocol of one target, as one object:
 *
 *   const taken = await TargetLease.acquire(stores, target, owner, options);   // conditional write (waits for alarms)
 *   if (!taken.acquired) → record LeaseHeld
 *   await lease.recoverStaleIntent(describe)      // a previous holder's record that never got stored
 *   if (!(await lease.claimTrigger(id, activityId))) → record DuplicateTrigger
 *   await lease.recordIntent(record)              // the full audit record, stored on the lease item BEFORE acting
 *   … act, under `lease.signal` …
 *   await lease.complete(finalRecord)             // the audit put; on failure the record stays in the intent
 *   await lease.release()                         // frees the lease; drops the intent only once its record is stored
 *
 * While held, the lease is renewed every third of its duration, so it never expires under a holder
 * that may still act; if a renewal finds the lease taken by someone else (or cannot be written),
 * `signal` aborts: the holder is fenced and its plug-in calls are cancelled.
 */
import { buildRecord } from '../audit/build.ts';
import type { AuditRecord, Trigger } from '../audit/record.ts';
import type { AuditStore } from './audit.ts';
import type { Intent, StateStore } from './state.ts';

export interface LeaseStores {
  readonly state: StateStore;
  readonly audit: AuditStore;
}

export interface LeaseOptions {
  /** How long the lease lasts without renewal, ms. */
  readonly durationMs: number;
  /** How often it is renewed while held, ms. Default a third of `durationMs`. */
  readonly renewEveryMs?: number;
  /** How long to poll (with backoff) for a lease another evaluation holds, ms (0: give up at once). */
  readonly waitMs: number;
  /** The target's deadline: stops waiting, renewing and acting. */
  readonly signal: AbortSignal;
  readonly now: () => number;
  readonly log: (message: string) => void;
}

export type Acquisition = { readonly acquired: true; readonly lease: TargetLease } | { readonly acquired: false; readonly holder: string | undefined };

export class TargetLease {
  readonly target: string;
  readonly owner: string;
  /** Left behind by an earlier holder whose record was never stored. */
  readonly staleIntent: Intent | undefined;
  readonly #stores: LeaseStores;
  readonly #options: LeaseOptions;
  readonly #fence = new AbortController();
  readonly #renewal: NodeJS.Timeout;
  #intent: Intent | undefined;
  /** Until when the lease is surely ours (the last successful acquire or renewal). */
  #validUntil: number;
  #stored = true;
  #acting = false;

  private constructor(stores: LeaseStores, target: string, owner: string, options: LeaseOptions, staleIntent: Intent | undefined) {
    this.#stores = stores;
    this.target = target;
    this.owner = owner;
    this.#options = options;
    this.staleIntent = staleIntent;
    this.#validUntil = options.now() + options.durationMs;
    this.#renewal = setInterval(() => void this.#renew(), Math.max(10, options.renewEveryMs ?? Math.floor(options.durationMs / 3)));
    this.#renewal.unref();
    options.signal.addEventListener('abort', () => clearInterval(this.#renewal), { once: true });
  }

  static async acquire(stores: LeaseStores, target: string, owner: string, options: LeaseOptions): Promise<Acquisition> {
    const giveUpAt = Date.now() + options.waitMs;
    let pause = 50;
    for (;;) {
      const result = await stores.state.acquireLease(target, owner, options.durationMs, options.now());
      if (result.acquired) return { acquired: true, lease: new TargetLease(stores, target, owner, options, result.staleIntent) };
      if (Date.now() + pause > giveUpAt || options.signal.aborted) return { acquired: false, holder: result.holder };
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(1_000, pause * 2);
    }
  }

  /** Aborts at the target's deadline, or when the lease was lost (fencing). Give it to every call made while acting. */
  get signal(): AbortSignal {
    return AbortSignal.any([this.#options.signal, this.#fence.signal]);
  }

  /**
   * Stores the record an earlier holder never stored, marked `details.recovered`: its final record if
   * it got that far, else its planned record judged by where the target is now.
   */
  async recoverStaleIntent(currentReplicas: () => Promise<number>, recoveredBy: string): Promise<AuditRecord | undefined> {
    const intent = this.staleIntent;
    if (!intent) return undefined;
    let record: AuditRecord;
    if (intent.completed) {
      record = buildRecord({ ...intent.completed, details: { ...intent.completed.details, recovered: true, recoveredBy } });
    } else {
      const found = await currentReplicas();
      const reached = found === intent.desiredReplicas;
      const planned = intent.record;
      record = buildRecord({
        ...(planned ?? {}),
        activityId: intent.activityId,
        policyId: intent.policyId,
        policyVersion: intent.policyVersion,
        target: intent.target,
        trigger: intent.trigger as unknown as Trigger,
        currentReplicas: intent.currentReplicas,
        rawDesired: intent.rawDesired,
        desiredReplicas: intent.desiredReplicas,
        action: intent.action,
        status: reached ? 'Successful' : 'Failed',
        ...(intent.reason ? { reason: intent.reason } : {}),
        details: { ...planned?.details, recovered: true, recoveredBy, replicasFound: found },
        ...(reached ? {} : { error: `interrupted: the evaluation (${intent.owner}) stopped while acting; found ${found} replicas, intended ${intent.desiredReplicas}` }),
        startedAt: intent.startedAt,
        endedAt: new Date(this.#options.now()).toISOString(),
      });
    }
    // Until its record is stored, the stale intent must survive this holder too (even if this put fails).
    this.#stored = false;
    await this.#stores.audit.put(record);
    this.#stored = true;
    await this.#stores.state.clearIntent(this.target, this.owner);
    return record;
  }

  /** True for the first holder that acts on behalf of this trigger id. */
  async claimTrigger(triggerId: string, activityId: string): Promise<boolean> {
    return this.#stores.state.markTrigger(triggerId, this.target, { owner: this.owner, activityId }, this.#options.now());
  }

  /** Stores the planned record on the lease item. Throws when the lease is no longer ours: do not act then. */
  async recordIntent(record: AuditRecord): Promise<void> {
    if (record.action !== 'scaleOut' && record.action !== 'scaleIn') throw new Error(`an intent is for scaling, not ${record.action}`);
    const intent: Intent = {
      activityId: record.activityId,
      policyId: record.policyId,
      policyVersion: record.policyVersion,
      target: record.target,
      trigger: { ...record.trigger },
      action: record.action,
      currentReplicas: record.currentReplicas ?? 0,
      rawDesired: record.rawDesired,
      desiredReplicas: record.desiredReplicas ?? 0,
      ...(record.reason ? { reason: record.reason } : {}),
      startedAt: record.startedAt,
      owner: this.owner,
      record,
    };
    await this.#stores.state.writeIntent(this.target, this.owner, intent);
    this.#intent = intent;
    this.#stored = false;
    this.#acting = true;
  }

  /**
   * Stores the final record. When that fails, the record is kept in the intent (best effort) and
   * the intent stays after release, so the next evaluation of the target stores it. Returns whether
   * the record is in the audit table.
   */
  async complete(record: AuditRecord): Promise<boolean> {
    this.#acting = false;
    try {
      await this.#stores.audit.put(record);
      this.#stored = true;
      return true;
    } catch (error) {
      this.#options.log(`audit write failed for ${record.policyId} on ${record.target}; kept as the lease's intent for the next evaluation: ${message(error)}`);
      if (this.#intent) {
        try {
          await this.#stores.state.writeIntent(this.target, this.owner, { ...this.#intent, completed: record });
        } catch (inner) {
          this.#options.log(`keeping the final record in the intent failed too (the planned record stays): ${message(inner)}`);
        }
      }
      return false;
    }
  }

  /**
   * Frees the lease. If the deadline passed while acting, the lease is left to expire (the action may
   * still be in flight; the next holder records the outcome). An intent whose record is not stored
   * stays for the next holder.
   */
  async release(): Promise<void> {
    clearInterval(this.#renewal);
    if (this.#acting && this.signal.aborted) return;
    try {
      await this.#stores.state.releaseLease(this.target, this.owner, !this.#stored);
    } catch (error) {
      this.#options.log(`releasing the lease on ${this.target} failed (it expires on its own): ${message(error)}`);
    }
  }

  async #renew(): Promise<void> {
    if (this.signal.aborted) return;
    const until = this.#options.now() + this.#options.durationMs;
    try {
      const ours = await this.#stores.state.renewLease(this.target, this.owner, until);
      if (ours) this.#validUntil = until;
      else this.#fence.abort(new Error(`lost the lease on ${this.target}`));
    } catch (error) {
      // A failed renewal (throttling, say) is tried again next time, as long as the lease surely
      // outlives that; otherwise stop acting before someone else may take it.
      const interval = this.#options.renewEveryMs ?? Math.floor(this.#options.durationMs / 3);
      if (this.#options.now() + interval >= this.#validUntil) this.#fence.abort(new Error(`could not renew the lease on ${this.target}: ${message(error)}`));
      else this.#options.log(`renewing the lease on ${this.target} failed; trying again: ${message(error)}`);
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
