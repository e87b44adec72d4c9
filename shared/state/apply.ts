/**
 * `policy apply`: plan (what changes, against the versions read now), then write with those versions,
 * so a policy someone else changed in between is rejected rather than overwritten. A file that came
 * from `policy get` or `policy export` names the version it was read at (`versionMarker`): when the
 * store has moved on since, the policy is rejected as stale even before the write.
 */
import { stringify } from 'yaml';
import type { Policy } from '../policy/schema.ts';
import { isInvalidEntry, StalePolicyError, type PolicyStore } from './policies.ts';

export interface PlanEntry {
  readonly id: string;
  readonly change: 'added' | 'changed' | 'unchanged' | 'stale';
  /** The stored version this plan was made against (0: not stored yet). */
  readonly expectedVersion: number;
  readonly previous?: Policy;
  /** The alarms the stored policy is bound to (also for a stored policy that no longer validates). */
  readonly previousAlarms?: readonly string[];
  readonly next: Policy;
  /** For changed policies: a line diff of the YAML ("- old", "+ new", "  context"). */
  readonly diff: readonly string[];
  /** For stale policies: why (the version the file was read at, and the store's now). */
  readonly staleMessage?: string;
}

export interface ApplyOutcome {
  readonly written: Array<{ id: string; version: number }>;
  readonly stale: Array<{ id: string; message: string }>;
}

export function policyYaml(policy: Policy): string {
  return stringify(policy, { lineWidth: 0 });
}

/** The comment `policy get` and `policy export` put above a policy: which version the text is. */
export function versionMarker(id: string, version: number, updatedAt: string): string {
  return `# autoscaler: policy ${id}, version ${version}, updated ${updatedAt}\n`;
}

/** The version a document's leading comment (as the yaml parser gives it, without '#') says it was read at. */
export function versionFromComment(id: string, comment: string | null | undefined): number | undefined {
  for (const match of (comment ?? '').matchAll(/autoscaler: policy (\S+), version (\d+)\b/g)) {
    if (match[1] === id) return Number(match[2]);
  }
  return undefined;
}

/**
 * What applying `policies` changes. `readAt` holds, per policy id, the version its file was read at
 * (from `versionFromComment`); such a policy is stale when the store is no longer at that version.
 */
export async function planApply(store: PolicyStore, policies: readonly Policy[], readAt: ReadonlyMap<string, number> = new Map()): Promise<PlanEntry[]> {
  const entries = await store.entries();
  const stored = new Map(entries.flatMap((r) => (isInvalidEntry(r) ? [] : [[r.policy.id, r] as const])));
  // A stored policy that no longer validates is overwritten like a changed one (that is how it is repaired).
  const invalid = new Map(entries.flatMap((r) => (isInvalidEntry(r) ? [[r.id, r] as const] : [])));
  return policies.map((next) => {
    const broken = invalid.get(next.id);
    if (broken && (readAt.get(next.id) === undefined || readAt.get(next.id) === broken.version)) {
      return { id: next.id, change: 'changed', expectedVersion: broken.version, previousAlarms: broken.alarms, next, diff: [`- (stored version ${broken.version} no longer validates: ${broken.problems.join('; ')})`, ...policyYaml(next).replace(/\n$/, '').split('\n').map((l) => `+ ${l}`)] };
    }
    const current = stored.get(next.id) ?? (broken ? { version: broken.version, policy: undefined } : undefined);
    const read = readAt.get(next.id);
    if (read !== undefined && read !== (current?.version ?? 0)) {
      const now = current ? `it is at version ${current.version} now` : 'it has been deleted since';
      return {
        id: next.id,
        change: 'stale',
        expectedVersion: read,
        ...(current?.policy ? { previous: current.policy } : {}),
        next,
        diff: [],
        staleMessage: `policy "${next.id}" was read at version ${read} but ${now}: someone else changed it; nothing written for it (get it again, redo your change, and re-apply)`,
      };
    }
    if (!current?.policy) return { id: next.id, change: 'added', expectedVersion: 0, next, diff: [] };
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
    if (entry.change === 'stale') {
      outcome.stale.push({ id: entry.id, message: entry.staleMessage ?? `policy "${entry.id}" is stale` });
      continue;
    }
    try {
      const version = await store.put(entry.next, entry.expectedVersion, entry.previousAlarms ?? entry.previous?.alarms ?? []);
      outcome.written.push({ id: entry.id, version });
    } catch (error) {
      if (!(error instanceof StalePolicyError)) throw error;
      outcome.stale.push({ id: entry.id, message: error.message });
    }
  }
  // A table written before the fan-out's policy index existed gets it on the first apply.
  if (!(await store.indexComplete())) await store.rebuildIndex();
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
