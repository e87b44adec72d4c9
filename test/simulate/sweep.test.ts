/** --sweep's parsing and parameter setting (shared/simulate/sweep.ts). */
import { describe, expect, it } from 'vitest';
import { Policy } from '../../shared/policy/schema.ts';
import { parseSweep, withParameter } from '../../shared/simulate/sweep.ts';

const policy = Policy.parse({
  id: 'two-rules',
  target: { type: 'kubernetes', cluster: 'c', namespace: 'n', kind: 'Deployment', name: 'web' },
  capacity: { min: 1, max: 100 },
  metrics: [{ id: 'requests', source: 'cloudwatch', namespace: 'App', name: 'Requests' }],
  rule: [
    { type: 'target', metric: 'requests', perReplica: 700 },
    { type: 'envelope', metric: 'requests', perReplica: 1000 },
  ],
});

describe('sweep', () => {
  it('parses PARAM=a,b,c and names what is wrong otherwise', () => {
    expect(parseSweep('z=1, 2.5,3')).toEqual({ param: 'z', values: [1, 2.5, 3] });
    expect(parseSweep('behavior.scaleDown.tolerance=0.1,0.2')).toEqual({ param: 'behavior.scaleDown.tolerance', values: [0.1, 0.2] });
    expect(() => parseSweep('z')).toThrow('--sweep must look like PARAM=a,b,c (e.g. z=2,2.5,3), got "z"');
    expect(() => parseSweep(`z=${Array(21).fill(1).join(',')}`)).toThrow('at most 20 values, got 21');
  });

  it('sets a rule field on the first rule that has it, and a dotted path anywhere in the policy, leaving the original alone', () => {
    // Act
    const z = withParameter(policy, 'z', 3);
    const perReplica = withParameter(policy, 'perReplica', 800);
    const tolerance = withParameter(policy, 'behavior.scaleDown.tolerance', 0.3);
    // Assess
    expect(Array.isArray(z.rule) && z.rule[1]!.type === 'envelope' && z.rule[1]!.z).toBe(3);
    expect(Array.isArray(perReplica.rule) && perReplica.rule.map((r) => ('perReplica' in r ? r.perReplica : undefined))).toEqual([800, 1000]);
    expect(tolerance.behavior.scaleDown.tolerance).toBe(0.3);
    expect(Array.isArray(policy.rule) && policy.rule[1]!.type === 'envelope' && policy.rule[1]!.z).toBe(2.5);
  });

  it('validates the value as the policy is validated', () => {
    expect(() => withParameter(policy, 'peakUtilization', 2)).toThrow(/--sweep peakUtilization=2: rule\.1\.peakUtilization: .*1/);
    expect(() => withParameter(policy, 'capacity.min.x', 1)).toThrow('"min" is not an object');
  });
});
