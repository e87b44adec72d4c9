/**
 * Which of several policies on one target acts in this evaluation. Pure: decisions in, verdicts out.
 *
 * As the HPA does with several metrics, the policy asking for the LARGEST desired replicas wins
 * (ties: the first policy id); dry-run policies take no part. If the winner does not change
 * replicas, nobody acts. Every other policy that wanted to act is `overridden` (by the winner, or by
 * nobody when the largest desired is the current count).
 */
import type { Decision } from './types.ts';

export interface Candidate {
  readonly policyId: string;
  readonly dryRun: boolean;
  readonly decision: Decision;
}

export type Verdict =
  | { readonly kind: 'act' }
  | { readonly kind: 'dryRun' }
  | { readonly kind: 'overridden'; readonly by: string | null }
  /** The policy's own decision was to do nothing. */
  | { readonly kind: 'none' };

export interface Arbitration {
  /** The policy id that acts, if any. */
  readonly actor: string | undefined;
  readonly verdicts: ReadonlyMap<string, Verdict>;
}

export function arbitrate(candidates: readonly Candidate[]): Arbitration {
  const ordered = [...candidates].sort((a, b) => a.policyId.localeCompare(b.policyId));
  let best: Candidate | undefined;
  for (const c of ordered) {
    if (c.dryRun) continue;
    if (best === undefined || c.decision.desiredReplicas > best.decision.desiredReplicas) best = c;
  }
  const actor = best && best.decision.action !== 'none' ? best : undefined;
  const verdicts = new Map<string, Verdict>();
  for (const c of ordered) {
    if (c === actor) verdicts.set(c.policyId, { kind: 'act' });
    else if (c.dryRun && c.decision.action !== 'none') verdicts.set(c.policyId, { kind: 'dryRun' });
    else if (c.decision.action !== 'none') verdicts.set(c.policyId, { kind: 'overridden', by: actor?.policyId ?? null });
    else verdicts.set(c.policyId, { kind: 'none' });
  }
  return { actor: actor?.policyId, verdicts };
}
