import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../shared/audit/record.ts';
import { rampProfile } from '../../shared/demo/load.ts';
import { countActions, replicasAt, summarize, underProvisionedSeconds } from '../../shared/demo/summary.ts';

describe('demo load profile', () => {
  it('ramps 0 → peak over 30% of the run, holds to 45%, ramps down to 60%, then idles', () => {
    // Prepare
    const profile = rampProfile(100, 40);

    // Act
    const at = [0, 15, 30, 40, 52.5, 60, 80, 100].map(profile);

    // Assess
    expect(at).toEqual([0, 20, 40, 40, 20, 0, 0, 0]);
  });
});

describe('demo figures', () => {
  const record = (action: AuditRecord['action'], status: AuditRecord['status']): AuditRecord => ({
    activityId: 'a',
    policyId: 'demo',
    policyVersion: 1,
    target: 'docker/local/demo',
    trigger: { type: 'schedule' },
    inputs: [],
    currentReplicas: 1,
    rawDesired: 2,
    desiredReplicas: 2,
    action,
    status,
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:00:01.000Z',
  });

  it('replicas at a second are the last count recorded at or before it', () => {
    // Prepare
    const timeline = [[0, 1], [4.5, 3], [10, 2]] as const;

    // Act / Assess
    expect([0, 4, 5, 9, 10, 30].map((t) => replicasAt(timeline, t))).toEqual([1, 1, 3, 3, 2, 2]);
  });

  it('a second is under-provisioned when requests sent exceed perReplica x (1 + slack) x replicas', () => {
    // Prepare: 8 per replica, slack 0.1 → 8.8 per replica is still fine
    const sent = [8, 9, 17, 18, 0];
    const timeline = [[0, 1], [2, 2]] as const;

    // Act
    const count = underProvisionedSeconds(sent, timeline, 8, 0.1);

    // Assess: second 1 (9 > 8.8) and second 3 (18 > 17.6)
    expect(count).toBe(2);
  });

  it('counts only successful scale-outs and scale-ins, and takes the peak from the timeline', () => {
    // Prepare
    const records = [record('scaleOut', 'Successful'), record('scaleOut', 'Failed'), record('scaleIn', 'Successful'), record('none', 'NotScaled'), record('restart', 'Successful')];

    // Act
    const summary = summarize(records, [[0, 1], [3, 4], [9, 1]], [0, 0], 3, 8, 0.1);

    // Assess
    expect(countActions(records)).toEqual({ scaleOuts: 1, scaleIns: 1 });
    expect(summary).toEqual({ scaleOuts: 1, scaleIns: 1, peakReplicas: 4, underProvisionedSeconds: 0, failedRequests: 3 });
  });
});
