/**
 * `autoscaler simulate --sweep PARAM=a,b,c`: the same replay once per value of one policy
 * parameter, so an operator sees what the parameter trades (under-provisioned minutes against
 * replica-minutes and actions) and picks a point. Pure apart from the simulation it is given.
 */
import { Policy, rulesOf } from '../policy/schema.ts';

export interface Sweep {
  /** A rule field (`z`: the first rule that has it) or a dotted path in the policy (`behavior.scaleDown.tolerance`, `rule.z`). */
  readonly param: string;
  readonly values: readonly number[];
}

export const maxSweepValues = 20;

/** Parses `PARAM=a,b,c`; errors name the value and what is allowed. */
export function parseSweep(text: string): Sweep {
  const match = /^([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)*)=(.+)$/.exec(text.trim());
  if (!match) throw new RangeError(`--sweep must look like PARAM=a,b,c (e.g. z=2,2.5,3), got "${text}"`);
  const values = match[2]!.split(',').map((v) => v.trim());
  if (values.length > maxSweepValues) throw new RangeError(`--sweep takes at most ${maxSweepValues} values, got ${values.length}`);
  const numbers = values.map((v) => {
    const n = Number(v);
    if (v === '' || !Number.isFinite(n)) throw new RangeError(`--sweep ${match[1]}: "${v}" is not a number`);
    return n;
  });
  return { param: match[1]!, values: numbers };
}

/** The policy with `param` set to `value`, validated again (so a value out of the field's range is named). */
export function withParameter(policy: Policy, param: string, value: number): Policy {
  const copy = structuredClone(policy) as unknown as Record<string, unknown>;
  const path = param.split('.');
  let holder: Record<string, unknown> | undefined;
  if (path.length === 1) {
    const rules = rulesOf(policy);
    const index = rules.findIndex((rule) => param in rule);
    if (index < 0) throw new RangeError(`--sweep ${param}: no rule of policy "${policy.id}" has a field "${param}" (rule fields: ${[...new Set(rules.flatMap((r) => Object.keys(r)))].join(', ')})`);
    holder = (Array.isArray(copy.rule) ? (copy.rule as Array<Record<string, unknown>>)[index] : copy.rule) as Record<string, unknown>;
  } else {
    holder = copy;
    for (const key of path.slice(0, -1)) {
      const next = holder[key];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) throw new RangeError(`--sweep ${param}: "${key}" is not an object in policy "${policy.id}"`);
      holder = next as Record<string, unknown>;
    }
  }
  const field = path[path.length - 1]!;
  if (typeof holder[field] !== 'number' && holder[field] !== undefined) throw new RangeError(`--sweep ${param}: the field holds ${JSON.stringify(holder[field])}, not a number`);
  holder[field] = value;
  const parsed = Policy.safeParse(copy);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RangeError(`--sweep ${param}=${value}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
