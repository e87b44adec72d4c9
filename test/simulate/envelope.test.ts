/**
 * The envelope rule in the simulator: the same decide and history as deployed, and a template
 * written for one C replays on another by rescaling perReplica alone (every other parameter is
 * relative to C or a duration).
 */
import { describe, expect, it } from 'vitest';
import { Policy } from '../../shared/policy/schema.ts';
import { rescalePolicy } from '../../shared/simulate/rescale.ts';
import { simulate } from '../../shared/simulate/simulate.ts';

const envelope = (perReplica: number) =>
  Policy.parse({
    id: 'envelope',
    target: { type: 'kubernetes', cluster: 'c', namespace: 'n', kind: 'Deployment', name: 'web' },
    capacity: { min: 1, max: 1000 },
    metrics: [{ id: 'requests', source: 'cloudwatch', namespace: 'App', name: 'Requests' }],
    rule: { type: 'envelope', metric: 'requests', perReplica, bursts: [{ periodSeconds: 3600, remember: 24 }] },
    behavior: { tolerance: 0, scaleUp: { stabilizationWindowSeconds: 0 }, scaleDown: { stabilizationWindowSeconds: 0 } },
  });

// Six hours: a noisy base of ~40 per minute at C = 25 with a 4x burst at minute 20 of every hour.
const demand = Float64Array.from({ length: 360 }, (_, m) => (m % 60 >= 20 && m % 60 < 28 ? 160 : 40) + ((m * 7919) % 17) - 8);

describe('envelope rule in the simulator', () => {
  it('a template written for C = 1000 rescaled to C = 25 runs exactly as the rule written for 25', () => {
    // Act
    const rescaled = simulate(rescalePolicy(envelope(1000), 25 / 1000), demand, { perReplica: 25 });
    const native = simulate(envelope(25), demand, { perReplica: 25 });
    // Assess
    expect(rescaled).toEqual(native);
  });

  it('pre-scales for the hourly burst once it has been seen twice: fewer under-provisioned minutes than without the memory', () => {
    // Act
    const remembering = simulate(envelope(25), demand, { perReplica: 25 });
    const forgetful = simulate(Policy.parse({ ...envelope(25), rule: { ...envelope(25).rule, bursts: [] } }), demand, { perReplica: 25 });
    // Assess
    expect(remembering.underProvisionedMinutes).toBeLessThan(forgetful.underProvisionedMinutes);
  });
});
