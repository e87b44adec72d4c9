/**
 * Docker label overrides: labels on a service's containers win over the stored policy (the seed:
 * "docker label takes priority, then the DB"). Every label is validated; an invalid one is rejected
 * with a message and the others still apply; no label lifts a target above the deployment ceiling.
 * Pure: the caller reads the labels and audits `rejected`.
 */
import { Policy } from './schema.ts';

export interface LabelOverrideResult {
  readonly policy: Policy;
  readonly applied: Array<{ label: string; value: string }>;
  /** Rejected labels, and labels applied only after a change (e.g. max clamped to the ceiling). */
  readonly rejected: Array<{ label: string; value: string; message: string }>;
}

type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

const booleanLabel = (raw: string): Parsed =>
  raw === 'true' ? { ok: true, value: true } : raw === 'false' ? { ok: true, value: false } : { ok: false, message: 'allowed: true or false' };
const integerLabel = (raw: string): Parsed =>
  /^\d{1,6}$/.test(raw.trim()) ? { ok: true, value: Number(raw.trim()) } : { ok: false, message: 'allowed: a whole number ≥ 0' };
const positiveNumberLabel = (raw: string): Parsed => {
  const n = Number(raw.trim());
  return raw.trim() !== '' && Number.isFinite(n) && n > 0 ? { ok: true, value: n } : { ok: false, message: 'allowed: a number > 0' };
};
const textLabel = (raw: string): Parsed => (raw.length > 0 ? { ok: true, value: raw } : { ok: false, message: 'allowed: a non-empty value' });

/** How each label parses, and where in the policy it lands (`path` is used to map schema issues back to labels). */
const LABELS: Record<string, { parse: (raw: string) => Parsed; path: string }> = {
  'autoscaler.min': { parse: integerLabel, path: 'capacity.min' },
  'autoscaler.max': { parse: integerLabel, path: 'capacity.max' },
  'autoscaler.enabled': { parse: booleanLabel, path: 'enabled' },
  'autoscaler.dryRun': { parse: booleanLabel, path: 'dryRun' },
  'autoscaler.steps': { parse: textLabel, path: 'rule' },
  'autoscaler.perReplica': { parse: positiveNumberLabel, path: 'rule' },
  'autoscaler.suspend.scaleIn': { parse: booleanLabel, path: 'suspend.scaleIn' },
  'autoscaler.suspend.scaleOut': { parse: booleanLabel, path: 'suspend.scaleOut' },
  'autoscaler.lb.type': { parse: textLabel, path: 'loadBalancer.type' },
  'autoscaler.lb.backend': { parse: textLabel, path: 'loadBalancer.backend' },
  'autoscaler.lb.port': { parse: integerLabel, path: 'loadBalancer.port' },
  'autoscaler.lb.endpoint': { parse: textLabel, path: 'loadBalancer.endpoint' },
  'autoscaler.restartStopped': { parse: booleanLabel, path: 'availability.restartStopped' },
  'autoscaler.recreateRemoved': { parse: booleanLabel, path: 'availability.recreateRemoved' },
};
/** Labels that belong to the Docker target (service discovery), not to the policy. */
const TARGET_LABELS = new Set(['autoscaler.service', 'autoscaler.managed']);

type Draft = Record<string, unknown> & { capacity: Record<string, unknown>; suspend: Record<string, unknown>; availability: Record<string, unknown> };

/** Sets one parsed label on a draft policy; returns a message when the label cannot apply to this policy. */
function setLabel(draft: Draft, label: string, value: unknown): string | undefined {
  switch (label) {
    case 'autoscaler.min':
      draft.capacity.min = value;
      return;
    case 'autoscaler.max':
      draft.capacity.max = value;
      return;
    case 'autoscaler.enabled':
      draft.enabled = value;
      return;
    case 'autoscaler.dryRun':
      draft.dryRun = value;
      return;
    case 'autoscaler.suspend.scaleIn':
      draft.suspend.scaleIn = value;
      return;
    case 'autoscaler.suspend.scaleOut':
      draft.suspend.scaleOut = value;
      return;
    case 'autoscaler.restartStopped':
      draft.availability.restartStopped = value;
      return;
    case 'autoscaler.recreateRemoved':
      draft.availability.recreateRemoved = value;
      return;
    case 'autoscaler.steps':
    case 'autoscaler.perReplica': {
      const type = label === 'autoscaler.steps' ? 'steps' : 'target';
      const rules = (Array.isArray(draft.rule) ? draft.rule : [draft.rule]) as Array<Record<string, unknown>>;
      const matching = rules.filter((r) => r.type === type);
      if (matching.length !== 1) return `applies to a policy with exactly one ${type} rule; this policy has ${matching.length}`;
      const replaced = { ...matching[0]!, [type === 'steps' ? 'steps' : 'perReplica']: value };
      const next = rules.map((r) => (r === matching[0] ? replaced : r));
      draft.rule = Array.isArray(draft.rule) ? next : next[0];
      return;
    }
    default: {
      // autoscaler.lb.*: a different type starts a new load balancer; the same type merges.
      const field = label.slice('autoscaler.lb.'.length);
      const current = (draft.loadBalancer ?? {}) as Record<string, unknown>;
      if (field === 'type' && current.type !== value) draft.loadBalancer = { type: value };
      else draft.loadBalancer = { ...current, [field]: value };
      return;
    }
  }
}

function labelForIssue(path: ReadonlyArray<PropertyKey>, candidates: string[]): string[] {
  const dotted = path.map(String).join('.');
  const exact = candidates.filter((l) => dotted === LABELS[l]!.path || dotted.startsWith(`${LABELS[l]!.path}.`));
  if (exact.length > 0) return exact;
  // An issue on a whole object (capacity's min ≤ max, loadBalancer's union) blames the labels under it.
  const top = String(path[0] ?? '');
  return candidates.filter((l) => LABELS[l]!.path.split('.')[0] === top);
}

/**
 * Merges the container labels into the stored policy. Labels outside `autoscaler.*`, and
 * `autoscaler.service` / `autoscaler.managed`, are ignored. `autoscaler.max` above `ceiling` is
 * clamped to the ceiling (applied, and reported in `rejected` with the reason); a min above the
 * ceiling is rejected. The merged policy is re-validated with the schema; a label whose value makes
 * it invalid is rejected and the rest are applied.
 */
export function applyLabelOverrides(policy: Policy, labels: Record<string, string>, ceiling: number): LabelOverrideResult {
  const rejected: Array<{ label: string; value: string; message: string }> = [];
  const parsed = new Map<string, unknown>();
  for (const label of Object.keys(labels).sort()) {
    if (!label.startsWith('autoscaler.') || TARGET_LABELS.has(label)) continue;
    const raw = labels[label]!;
    const spec = LABELS[label];
    if (spec === undefined) {
      rejected.push({ label, value: raw, message: `${label}: unknown label; allowed: ${Object.keys(LABELS).join(', ')}` });
      continue;
    }
    const result = spec.parse(raw);
    if (!result.ok) {
      rejected.push({ label, value: raw, message: `${label}=${JSON.stringify(raw)}: ${result.message}` });
      continue;
    }
    let value = result.value;
    if (label === 'autoscaler.max' && (value as number) > ceiling) {
      rejected.push({ label, value: raw, message: `${label}=${raw}: above the deployment ceiling ${ceiling}; clamped to ${ceiling}` });
      value = ceiling;
    }
    if (label === 'autoscaler.min' && (value as number) > ceiling) {
      rejected.push({ label, value: raw, message: `${label}=${raw}: above the deployment ceiling ${ceiling}; allowed: 0 to ${ceiling}` });
      continue;
    }
    parsed.set(label, value);
  }

  // Apply all, validate, drop the labels the schema blames, and try again with the rest.
  let candidates = [...parsed.keys()];
  for (;;) {
    const draft = structuredClone({
      ...policy,
      capacity: { ...policy.capacity },
      suspend: { ...policy.suspend },
      availability: { ...policy.availability },
    }) as unknown as Draft;
    const unusable: string[] = [];
    for (const label of candidates) {
      const problem = setLabel(draft, label, parsed.get(label));
      if (problem !== undefined) {
        rejected.push({ label, value: labels[label]!, message: `${label}=${JSON.stringify(labels[label])}: ${problem}` });
        unusable.push(label);
      }
    }
    if (unusable.length > 0) {
      candidates = candidates.filter((l) => !unusable.includes(l));
      continue;
    }
    const result = Policy.safeParse(draft);
    if (result.success) {
      const applied = candidates.map((label) => ({ label, value: label === 'autoscaler.max' ? String(parsed.get(label)) : labels[label]! }));
      return { policy: result.data, applied, rejected };
    }
    const blamed = new Map<string, string>();
    for (const issue of result.error.issues) {
      for (const label of labelForIssue(issue.path, candidates)) {
        if (!blamed.has(label)) blamed.set(label, `${issue.path.map(String).join('.') || '(policy)'}: ${issue.message}`);
      }
    }
    if (blamed.size === 0) {
      // The stored policy itself is invalid: nothing to blame on a label; reject them all.
      for (const label of candidates) rejected.push({ label, value: labels[label]!, message: `${label}: the stored policy does not validate` });
      return { policy, applied: [], rejected };
    }
    for (const [label, message] of blamed) {
      rejected.push({ label, value: labels[label]!, message: `${label}=${JSON.stringify(labels[label])}: ${message}` });
    }
    candidates = candidates.filter((l) => !blamed.has(l));
  }
}
