import { describe, expect, it } from 'vitest';
import { arbitrate, type Candidate } from '../../shared/engine/arbitrate.ts';
import { emptyHistory, type Decision } from '../../shared/engine/types.ts';

function candidate(policyId: string, current: number, desired: number, dryRun = false): Candidate {
  const action: Decision['action'] = desired > current ? 'scaleOut' : desired < current ? 'scaleIn' : 'none';
  return { policyId, dryRun, decision: { action, currentReplicas: current, rawDesired: desired, desiredReplicas: desired, reason: '', history: emptyHistory } };
}

describe('arbitrate (pure): which policy acts on a shared target', () => {
  it('the largest desired acts; the others that wanted to act are overridden by it', () => {
    // Act
    const result = arbitrate([candidate('a', 2, 3), candidate('b', 2, 5), candidate('c', 2, 2)]);
    // Assess
    expect(result.actor).toBe('b');
    expect(Object.fromEntries(result.verdicts)).toEqual({ a: { kind: 'overridden', by: 'b' }, b: { kind: 'act' }, c: { kind: 'none' } });
  });

  it('ties go to the first policy id, whatever the input order', () => {
    // Act
    const result = arbitrate([candidate('z', 2, 4), candidate('m', 2, 4)]);
    // Assess
    expect(result.actor).toBe('m');
    expect(result.verdicts.get('z')).toEqual({ kind: 'overridden', by: 'm' });
  });

  it('when the largest desired is the current count nobody acts: a scale-in is overridden by nobody', () => {
    // Act
    const result = arbitrate([candidate('in', 4, 2), candidate('hold', 4, 4)]);
    // Assess
    expect(result.actor).toBeUndefined();
    expect(result.verdicts.get('in')).toEqual({ kind: 'overridden', by: null });
    expect(result.verdicts.get('hold')).toEqual({ kind: 'none' });
  });

  it('dry-run policies take no part, even with the largest desired', () => {
    // Act
    const result = arbitrate([candidate('dry', 1, 9, true), candidate('real', 1, 2)]);
    // Assess
    expect(result.actor).toBe('real');
    expect(result.verdicts.get('dry')).toEqual({ kind: 'dryRun' });
  });

  it('no candidates, no actor', () => {
    expect(arbitrate([])).toEqual({ actor: undefined, verdicts: new Map() });
  });
});
