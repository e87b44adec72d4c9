/**
 * The `memory` scale target: replicas kept in the evaluating process, nothing outside it. For the
 * simulator, orchestration tests and benches, and for trying a policy without touching a host.
 * A Lambda forgets the replicas on a cold start, so it is no target for production.
 */
import * as z from 'zod/mini';
import { name } from '../../../policy/fields.ts';
import type { TargetDescriptor } from '../../descriptor.ts';

export const MemoryTarget = z
  .strictObject({
    type: z.literal('memory'),
    /** Names the in-process service; policies naming the same one share its replicas. */
    name,
  })
  .register(z.globalRegistry, { description: 'Replicas kept in the evaluating process (simulation and tests).' });

export type MemoryTargetSpec = z.output<typeof MemoryTarget>;

export const memoryTargetDescriptor = {
  type: 'memory',
  schema: MemoryTarget,
  // Labels set in-process stand in for a container's `autoscaler.*` labels; members get documentation addresses.
  capabilities: { labelOverrides: true, members: true, containers: false },
  key: (target: z.output<typeof MemoryTarget>) => `memory/${target.name}`,
  load: async () => (await import('./target.ts')).memoryTarget,
} as const satisfies TargetDescriptor<typeof MemoryTarget>;
