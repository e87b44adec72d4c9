import { Policy } from '../shared/policy/schema.ts';
import { z } from 'zod';
const p = Policy.safeParse({ id: 'web', target: { type: 'docker', endpoint: 'edge-1', service: 'web' }, capacity: { min: 1, max: 10 },
  metrics: [{ id: 'queue', source: 'redis', endpoint: 'c', list: 'q' }], rule: { type: 'steps', metric: 'queue', steps: '0=1 1000=2 900=3' } });
console.log(JSON.stringify(p.success ? p.data : p.error.issues, null, 1).slice(0, 1500));
const js = z.toJSONSchema(Policy, { io: 'input', unrepresentable: 'any' });
console.log(JSON.stringify(js).length);
