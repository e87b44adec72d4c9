/**
 * Which policies a trigger evaluates: all enabled ones on a schedule, only the bound ones for an
 * alarm. Stored policies that no longer validate come along as invalid entries, so the evaluation
 * audits them (NotScaled 'PolicyInvalid') instead of failing as a whole.
 */
import type { PolicyStore } from '../state/policies.ts';
import { isInvalid, type EvaluationTrigger, type SelectedPolicy } from './types.ts';

export async function policiesForTrigger(trigger: EvaluationTrigger, policies: PolicyStore): Promise<SelectedPolicy[]> {
  if (trigger.type === 'alarm') {
    const alarmName = trigger.alarmName ?? trigger.alarm?.name;
    if (!alarmName) throw new Error('an alarm trigger needs alarmName');
    return (await policies.forAlarmEntries(alarmName)).map(selected);
  }
  return enabledSelections(await policies.entries());
}

/** The enabled ones of stored entries, valid or not, as the evaluation takes them. */
export function enabledSelections(entries: readonly SelectedPolicy[]): SelectedPolicy[] {
  return entries.filter((e) => (isInvalid(e) ? e.enabled : e.policy.enabled)).map(selected);
}

/** Just what the evaluation needs of a stored entry (not its document or timestamps). */
function selected(entry: SelectedPolicy): SelectedPolicy {
  if (isInvalid(entry)) return { id: entry.id, version: entry.version, target: entry.target, enabled: entry.enabled, problems: entry.problems };
  return { policy: entry.policy, version: entry.version };
}
