/** Small readers over a synthesized template, shared by the infra tests. */
import type { Template } from 'aws-cdk-lib/assertions';

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Sid?: string;
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Principal?: unknown;
}

export const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every statement of every identity policy (AWS::IAM::Policy and inline role policies). */
export function identityStatements(template: Template): Statement[] {
  const statements: Statement[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    statements.push(...(policy.Properties.PolicyDocument.Statement as Statement[]));
  }
  for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
    for (const inline of asList(role.Properties.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>)) statements.push(...inline.PolicyDocument.Statement);
  }
  return statements;
}

export function statementsWithAction(template: Template, action: string): Statement[] {
  return identityStatements(template).filter((s) => asList(s.Action).includes(action));
}

export function onlyResource<T = Record<string, { Properties: Record<string, unknown> }>>(template: Template, type: string): T[keyof T] {
  const found = template.findResources(type) as T;
  const keys = Object.keys(found as object);
  if (keys.length !== 1) throw new Error(`expected one ${type}, found ${keys.length}`);
  return found[keys[0] as keyof T];
}

/** Logical id of the one resource of `type` whose logical id contains `hint`. */
export function logicalId(template: Template, type: string, hint: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.includes(hint));
  if (ids.length !== 1) throw new Error(`expected one ${type} with "${hint}" in its id, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}
