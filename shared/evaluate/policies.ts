/**
 * Which policies a trigger evaluates: all enabled ones on a schedule, only the bound ones for an
 * alarm. Stored policies that no longer validate come along as invalid entries, so the evaluation
 * audits them (NotScaled 'PolicyInvalid') instead of failing as a whole.
 */
import { isInvalidEntry, type PolicyEntry, type PolicyStore } from '../state/policies.ts';
import type { EvaluationTrigger, SelectedPolicy } from './types.ts';

export async function policiesForTrigger(trigger: EvaluationTrigger, policies: PolicyStore): Promise<SelectedPolicy[]> {
  if (trigger.type === 'alarm') {
    const alarmName = trigger.alarmName ?? trigger.alarm?.name;
    if (!alarmName) throw new Error('an alarm trigger needs alarmName');
    return (await policies.forAlarmEntries(alarmName)).map(selected);
  }
  return (await policies.entries()).filter((e) => (isInvalidEntry(e) ? e.enabled : e.policy.enabled)).map(selected);
}

function selected(entry: PolicyEntry): SelectedPolicy {
  if (isInvalidEntry(entry)) return { id: entry.id, version: entry.version, target: entry.target, enabled: entry.enabled, problems: entry.problems };
  return { policy: entry.policy, version: entry.version };
}
