/** Which policies a trigger evaluates: all enabled ones on a schedule, only the bound ones for an alarm. */
import type { PolicyStore } from '../state/policies.ts';
import type { EvaluationTrigger, StoredPolicy } from './types.ts';

export async function policiesForTrigger(trigger: EvaluationTrigger, policies: PolicyStore): Promise<StoredPolicy[]> {
  if (trigger.type === 'alarm') {
    const alarmName = trigger.alarmName ?? trigger.alarm?.name;
    if (!alarmName) throw new Error('an alarm trigger needs alarmName');
    return (await policies.forAlarm(alarmName)).map(({ policy, version }) => ({ policy, version }));
  }
  return (await policies.list()).filter((r) => r.policy.enabled).map(({ policy, version }) => ({ policy, version }));
}
