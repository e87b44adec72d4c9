/** Docker label overrides: labels win over the stored policy, are validated, never lift max above the ceiling. */
import { describe, expect, it } from 'vitest';
import { applyLabelOverrides } from '../../shared/policy/labels.ts';
import { Policy, rulesOf } from '../../shared/policy/schema.ts';

const stored = Policy.parse({
  id: 'web',
  target: { type: 'docker', endpoint: 'edge-1', service: 'web' },
  capacity: { min: 1, max: 10 },
  metrics: [{ id: 'queue', source: 'redis', endpoint: 'cache-1', list: 'jobs' }],
  rule: { type: 'steps', metric: 'queue', steps: '0=1 1000=2' },
  loadBalancer: { type: 'haproxy', endpoint: 'lb-1', backend: 'web', port: 8080 },
});

describe('applyLabelOverrides', () => {
  it('applies valid labels over the stored policy', () => {
    // Prepare
    const labels = {
      'autoscaler.min': '2',
      'autoscaler.max': '8',
      'autoscaler.dryRun': 'true',
      'autoscaler.steps': '0=2 500=4 2000=8',
      'autoscaler.suspend.scaleIn': 'true',
      'autoscaler.lb.port': '9090',
      'autoscaler.restartStopped': 'false',
    };

    // Act
    const { policy, applied, rejected } = applyLabelOverrides(stored, labels, 100);

    // Assess
    expect(rejected).toEqual([]);
    expect(applied).toHaveLength(7);
    expect(policy.capacity).toEqual({ min: 2, max: 8 });
    expect(policy.dryRun).toBe(true);
    expect(rulesOf(policy)[0]).toMatchObject({ type: 'steps', steps: [[0, 2], [500, 4], [2000, 8]] });
    expect(policy.suspend.scaleIn).toBe(true);
    expect(policy.loadBalancer).toMatchObject({ type: 'haproxy', backend: 'web', port: 9090 });
    expect(policy.availability.restartStopped).toBe(false);
  });

  it('ignores labels outside autoscaler.* and the Docker target’s own labels', () => {
    // Act
    const result = applyLabelOverrides(stored, { 'com.docker.compose.service': 'web', 'autoscaler.service': 'web', 'autoscaler.managed': 'true' }, 100);

    // Assess
    expect(result.applied).toEqual([]);
    expect(result.rejected).toEqual([]);
    expect(result.policy).toEqual(stored);
  });

  it('clamps max above the ceiling to the ceiling and reports it', () => {
    // Act
    const { policy, applied, rejected } = applyLabelOverrides(stored, { 'autoscaler.max': '500' }, 20);

    // Assess
    expect(policy.capacity.max).toBe(20);
    expect(applied).toEqual([{ label: 'autoscaler.max', value: '20' }]);
    expect(rejected[0]!.message).toMatch(/autoscaler\.max=500: above the deployment ceiling 20; clamped to 20/);
  });

  it('rejects an invalid label with a message naming label, value and what is allowed; the rest still apply', () => {
    // Act
    const { policy, applied, rejected } = applyLabelOverrides(stored, { 'autoscaler.min': 'two', 'autoscaler.max': '6', 'autoscaler.enabled': 'yes' }, 100);

    // Assess
    expect(policy.capacity).toEqual({ min: 1, max: 6 });
    expect(applied).toEqual([{ label: 'autoscaler.max', value: '6' }]);
    expect(rejected.map((r) => r.message)).toEqual([
      'autoscaler.enabled="yes": allowed: true or false',
      'autoscaler.min="two": allowed: a whole number ≥ 0',
    ]);
  });

  it('re-validates the merged policy: min above max is rejected, max kept', () => {
    // Act
    const { policy, rejected } = applyLabelOverrides(stored, { 'autoscaler.min': '9', 'autoscaler.max': '4' }, 100);

    // Assess
    expect(policy.capacity).toEqual({ min: 1, max: 4 });
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.label).toBe('autoscaler.min');
    expect(rejected[0]!.message).toContain('is above max');
  });

  it('rejects a malformed steps string with the schema’s explanation', () => {
    // Act
    const { policy, rejected } = applyLabelOverrides(stored, { 'autoscaler.steps': '0=1,1000=2' }, 100);

    // Assess
    expect(rulesOf(policy)[0]).toMatchObject({ steps: [[0, 1], [1000, 2]] });
    expect(rejected[0]!.message).toContain('threshold=replicas pairs');
  });

  it('rejects perReplica on a policy without a target rule, and unknown autoscaler.* labels', () => {
    // Act
    const { rejected } = applyLabelOverrides(stored, { 'autoscaler.perReplica': '50', 'autoscaler.maxx': '3' }, 100);

    // Assess
    expect(rejected.map((r) => r.label).sort()).toEqual(['autoscaler.maxx', 'autoscaler.perReplica']);
    expect(rejected.find((r) => r.label === 'autoscaler.perReplica')!.message).toContain('exactly one target rule');
    expect(rejected.find((r) => r.label === 'autoscaler.maxx')!.message).toContain('unknown label; allowed: autoscaler.min');
  });

  it('a new lb.type starts a new load balancer, validated as a whole', () => {
    // Act
    const traefik = applyLabelOverrides(stored, { 'autoscaler.lb.type': 'traefik' }, 100);
    const nginxIncomplete = applyLabelOverrides(stored, { 'autoscaler.lb.type': 'nginx' }, 100);

    // Assess
    expect(traefik.policy.loadBalancer).toEqual({ type: 'traefik' });
    expect(nginxIncomplete.policy.loadBalancer).toEqual(stored.loadBalancer);
    expect(nginxIncomplete.rejected[0]!.label).toBe('autoscaler.lb.type');
  });

  it('min above the ceiling is rejected', () => {
    // Act
    const { policy, rejected } = applyLabelOverrides(stored, { 'autoscaler.min': '50' }, 20);

    // Assess
    expect(policy.capacity.min).toBe(1);
    expect(rejected[0]!.message).toContain('allowed: 0 to 20');
  });
});
