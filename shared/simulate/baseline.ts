/** The comparison point every simulation is measured against. */
import { Policy } from '../policy/schema.ts';

/**
 * `--baseline hpa`: what a stock Kubernetes HPA would do. A target (AverageValue) rule at 70% of
 * a replica's capacity C, every HPA v2 default behavior, min 1, max 1000.
 */
export function hpaBaseline(perReplica: number): Policy {
  return Policy.parse({
    id: 'hpa-baseline',
    description: `HPA defaults, target 70% of ${perReplica} requests/min per replica`,
    target: { type: 'kubernetes', cluster: 'simulation', namespace: 'default', kind: 'Deployment', name: 'baseline' },
    capacity: { min: 1, max: 1000 },
    metrics: [{ id: 'demand', source: 'cloudwatch', namespace: 'Simulation', name: 'Requests', stat: 'Sum' }],
    rule: { type: 'target', metric: 'demand', perReplica: 0.7 * perReplica },
  });
}
