/**
 * `policy apply`: plan (what changes, against the versions read now), then write with those versions,
 * so a policy someone else changed in between is rejected rather than overwritten.
 */
import { stringify } from 'yaml';
import type { Policy } from '../policy/schema.ts';
import { StalePolicyError, type PolicyStore } from './policies.ts';

export interface PlanEntry {
  readonly id: string;
  readonly change: 'added' | 'changed' | 'unchanged';
  /** The stored version this plan was made against (0: not stored yet). */
  readonly expectedVersion: number;
  readonly previous?: Policy;
  readonly next: Policy;
  /** For changed policies: a line diff of the YAML ("- old", "+ new", "  context"). */
  readonly diff: readonly string[];
}

export interface ApplyOutcome {
  readonly written: Array<{ id: string; version: number }>;
  readonly stale: Array<{ id: string; message: string }>;
}

export function policyYaml(policy: Policy): string {
  return stringify(policy, { lineWidth: 0 });
}

export async function planApply(store: PolicyStore, policies: readonly Policy[]): Promise<PlanEntry[]> {
  const stored = new Map((await store.list()).map((r) => [r.policy.id, r]));
  return policies.map((next) => {
    const current = stored.get(next.id);
    if (!current) return { id: next.id, change: 'added', expectedVersion: 0, next, diff: [] };
    const before = policyYaml(current.policy);
    const after = policyYaml(next);
    if (before === after) return { id: next.id, change: 'unchanged', expectedVersion: current.version, previous: current.policy, next, diff: [] };
    return { id: next.id, change: 'changed', expectedVersion: current.version, previous: current.policy, next, diff: lineDiff(before, after) };
  });
}

/** Writes every added or changed policy; a stale one is reported (and not written), the others still are. */
export async function executePlan(store: PolicyStore, plan: readonly PlanEntry[]): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = { written: [], stale: [] };
  for (const entry of plan) {
    if (entry.change === 'unchanged') continue;
    try {
      const version = await store.put(entry.next, entry.expectedVersion, entry.previous?.alarms ?? []);
      outcome.written.push({ id: entry.id, version });
    } catch (error) {
      if (!(error instanceof StalePolicyError)) throw error;
      outcome.stale.push({ id: entry.id, message: error.message });
    }
  }
  return outcome;
}

/** A line diff (longest common subsequence) showing changed lines with `context` unchanged lines around them. */
export function lineDiff(before: string, after: string, context = 2): string[] {
  const a = before.replace(/\n$/, '').split('\n');
  const b = after.replace(/\n$/, '').split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const lines: Array<{ mark: ' ' | '-' | '+'; text: string }> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push({ mark: ' ', text: a[i++]! });
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      lines.push({ mark: '-', text: a[i++]! });
    } else {
      lines.push({ mark: '+', text: b[j++]! });
    }
  }
  const keep = lines.map((line, k) => line.mark !== ' ' || lines.slice(Math.max(0, k - context), k + context + 1).some((l) => l.mark !== ' '));
  const out: string[] = [];
  lines.forEach((line, k) => {
    if (keep[k]) out.push(`${line.mark} ${line.text}`);
    else if (keep[k - 1]) out.push('  …');
  });
  return out;
}
