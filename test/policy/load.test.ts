import { metricSourceCatalog } from '../../shared/plugins/catalog.ts';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { formatPolicyError, loadPolicyFiles, parsePolicyText } from '../../shared/policy/load.ts';

const validPolicy = {
  id: 'web',
  target: { type: 'docker', endpoint: 'edge-1', service: 'web' },
  capacity: { min: 1, max: 10 },
  metrics: [{ id: 'conns', source: 'haproxy', endpoint: 'lb-1', backend: 'web', field: 'scur' }],
  rule: { type: 'target', metric: 'conns', perReplica: 50 },
};

/** The formatted errors for one policy written as YAML. */
function errorsOf(policy: unknown, file = 'p.yaml'): string[] {
  return parsePolicyText(stringify(policy), file).errors.map(formatPolicyError);
}

const dir = mkdtempSync(join(tmpdir(), 'policy-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parsePolicyText: bad policies are rejected with messages naming field, value and what is allowed', () => {
  it('accepts a valid policy and fills the defaults', () => {
    // Act
    const { policies, errors } = parsePolicyText(stringify(validPolicy), 'p.yaml');

    // Assess
    expect(errors).toEqual([]);
    expect(policies).toHaveLength(1);
    expect(policies[0]!.policy.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
  });

  it('bad YAML: line and column of the syntax error', () => {
    // Act
    const errors = parsePolicyText('id: web\ncapacity: { min: 1, max: 10\nrule: x\n', 'bad.yaml').errors.map(formatPolicyError);

    // Assess
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^bad\.yaml: line \d+, column \d+: YAML syntax error: /);
  });

  it('duplicate keys in YAML are a syntax error, not a silent overwrite', () => {
    // Act
    const errors = parsePolicyText('id: web\nid: api\n', 'dup.yaml').errors.map(formatPolicyError);

    // Assess
    expect(errors).toEqual(['dup.yaml: line 2, column 1: YAML syntax error: Map keys must be unique']);
  });

  it('unknown field: lists the allowed fields of that object', () => {
    // Act
    const errors = errorsOf({ ...validPolicy, target: { ...validPolicy.target, replicas: 3 } });

    // Assess
    expect(errors).toEqual(['p.yaml: target.replicas: unknown field "replicas" (allowed: type, endpoint, service, parallelism, stopGraceSeconds, startTimeoutSeconds)']);
  });

  it('unknown field inside a metric (a union chosen by source)', () => {
    // Act
    const errors = errorsOf({ ...validPolicy, metrics: [{ ...validPolicy.metrics[0], port: 1 }] });

    // Assess
    expect(errors).toEqual(['p.yaml: metrics[0].port: unknown field "port" (allowed: id, source, endpoint, backend, field)']);
  });

  it('a metric math expression with METRICS() or SEARCH() (it would read other policies\' batched queries, or several series)', () => {
    // Act
    const errors = errorsOf({ ...validPolicy, metrics: [{ id: 'all', source: 'cloudwatch', expression: 'SUM(METRICS())' }], rule: { type: 'target', metric: 'all', perReplica: 10 } });

    // Assess
    expect(errors).toEqual([expect.stringMatching(/^p\.yaml: metrics\[0\]\.expression: METRICS\(\) and SEARCH\(\) are not supported .*name the metrics in `using`/)]);
  });

  it('a missing or malformed rule names the field and the forms a rule takes', () => {
    // Act
    const { rule: _rule, ...withoutRule } = validPolicy as Record<string, unknown>;
    const missing = errorsOf(withoutRule);
    const number = errorsOf({ ...validPolicy, rule: 5 });

    // Assess
    expect(missing).toEqual(['p.yaml: rule: required field is missing (expected an object with type: steps | target | stepAdjust | envelope or a list)']);
    expect(number).toEqual(['p.yaml: rule: 5 is not allowed (expected an object with type: steps | target | stepAdjust | envelope or a list)']);
  });

  it('min > max', () => {
    // Act
    const errors = errorsOf({ ...validPolicy, capacity: { min: 5, max: 2 } });

    // Assess
    expect(errors).toEqual(['p.yaml: capacity.min: min 5 is above max 2']);
  });

  it('steps not ascending: points at the offending threshold', () => {
    // Act
    const errors = errorsOf({ ...validPolicy, rule: { type: 'steps', metric: 'conns', steps: '0=1 1000=2 900=3' } });

    // Assess
    expect(errors).toEqual(['p.yaml: rule.steps[2][0]: thresholds must ascend: 900 follows 1000']);
  });

  it('rule names a missing metric', () => {
    // Act
    const errors = errorsOf({ ...validPolicy, rule: { type: 'target', metric: 'queue', perReplica: 50 } });

    // Assess
    expect(errors).toEqual(['p.yaml: rule.metric: names metric "queue", which is not in metrics (have: conns)']);
  });

  it('wrong enum: lists the options', () => {
    // Act
    const errors = errorsOf({ ...validPolicy, behavior: { scaleUp: { selectPolicy: 'Maximum' } } });

    // Assess
    expect(errors).toEqual(['p.yaml: behavior.scaleUp.selectPolicy: "Maximum" is not allowed (allowed: Max, Min, Disabled)']);
  });

  it('wrong discriminator: says which type values are allowed', () => {
    // Act
    const target = errorsOf({ ...validPolicy, target: { type: 'ecs', service: 'web' } });
    const rule = errorsOf({ ...validPolicy, rule: { type: 'targetTracking', metric: 'conns' } });
    const source = errorsOf({ ...validPolicy, metrics: [{ id: 'conns', source: 'datadog' }] });

    // Assess
    expect(target).toEqual(['p.yaml: target.type: "ecs" is not a known type (allowed: docker, kubernetes, memory)']);
    expect(rule).toEqual(['p.yaml: rule.type: "targetTracking" is not a known type (allowed: steps, target, stepAdjust, envelope)']);
    // The allowed sources are the catalog's, in its order.
    expect(source).toEqual([`p.yaml: metrics[0].source: "datadog" is not a known source (allowed: ${[...new Set(metricSourceCatalog.map((d) => d.source))].join(', ')})`]);
    expect(source[0]).toContain('(allowed: cloudwatch, elasticache, haproxy, redis, ');
  });

  it('wrong types, missing fields and bounds name the value', () => {
    // Act
    const errors = errorsOf({ ...validPolicy, capacity: { min: 'one', max: 2.5 }, rule: [{ type: 'target', metric: 'conns', perReplica: 0 }], onMissingMetric: 'zero' });
    const missing = errorsOf({ ...validPolicy, capacity: { max: 2 } });

    // Assess
    expect(errors).toEqual([
      'p.yaml: capacity.min: expected a number, got "one"',
      'p.yaml: capacity.max: expected an integer, got 2.5',
      'p.yaml: rule[0].perReplica: must be > 0, got 0',
      'p.yaml: onMissingMetric: "zero" is not allowed (expected "hold" or { value })',
    ]);
    expect(missing).toEqual(['p.yaml: capacity.min: required field is missing (a number)']);
  });

  it('an invalid pattern quotes the value and the rule', () => {
    // Act
    const errors = errorsOf({ ...validPolicy, id: 'my web' });

    // Assess
    expect(errors).toEqual(['p.yaml: id: "my web" is not valid: letters, digits and . _ - only']);
  });

  it('several policies in one file: paths start with the policy position', () => {
    // Prepare
    const text = `${stringify(validPolicy)}---\n${stringify({ ...validPolicy, id: 'api', capacity: { min: 0, max: 0 } })}`;

    // Act
    const { policies, errors } = parsePolicyText(text, 'two.yaml');

    // Assess
    expect(policies.map((p) => [p.index, p.policy.id])).toEqual([[0, 'web']]);
    expect(errors.map(formatPolicyError)).toEqual(['two.yaml: [1].capacity.max: must be >= 1, got 0']);
  });
});

describe('loadPolicyFiles', () => {
  it('reads files and folders (sorted, yaml/yml/json, subfolders but not hidden ones, multi-document) and reports duplicate ids across files', async () => {
    // Prepare
    const folder = join(dir, 'policies');
    mkdirSync(join(folder, 'nested'), { recursive: true });
    writeFileSync(join(folder, 'b.yml'), `${stringify({ ...validPolicy, id: 'b1' })}---\n${stringify({ ...validPolicy, id: 'b2' })}`);
    writeFileSync(join(folder, 'a.json'), JSON.stringify({ ...validPolicy, id: 'a' }));
    writeFileSync(join(folder, 'nested', 'c.yaml'), stringify({ ...validPolicy, id: 'a' }));
    writeFileSync(join(folder, 'notes.txt'), 'not a policy');
    mkdirSync(join(folder, '.git'));
    writeFileSync(join(folder, '.git', 'skipped.yaml'), stringify({ ...validPolicy, id: 'hidden' }));
    const single = join(dir, 'single.yaml');
    writeFileSync(single, stringify({ ...validPolicy, id: 'single' }));

    // Act
    const { policies, errors } = await loadPolicyFiles([folder, single]);

    // Assess
    expect(policies.map((p) => p.policy.id)).toEqual(['a', 'b1', 'b2', 'a', 'single']);
    expect(errors.map(formatPolicyError)).toEqual([`${join(folder, 'nested', 'c.yaml')}: id: duplicate policy id "a" (also in ${join(folder, 'a.json')})`]);
  });

  it('names a missing path and a file that is not text YAML', async () => {
    // Prepare
    const binary = join(dir, 'zipped.yaml');
    writeFileSync(binary, gzipSync('id: x'));

    // Act
    const { errors } = await loadPolicyFiles([join(dir, 'nope.yaml'), binary]);

    // Assess
    expect(errors[0]).toEqual({ file: join(dir, 'nope.yaml'), path: '', message: 'no such file or folder' });
    expect(errors).toHaveLength(2);
    expect(errors[1]!.file).toBe(binary);
  });

  it('defect 11: a file of 200,000 YAML documents, a file over 1 MiB and a file of over 1,000 policies fail with the file and the limit named', async () => {
    // Prepare: 200,000 empty documents stay under 1 MiB, so only the document limit can catch them;
    // 200,000 small documents (1.8 MB) are what ended in "Maximum call stack size exceeded".
    const manyDocuments = join(dir, 'many-documents.yaml');
    writeFileSync(manyDocuments, '---\n'.repeat(200_000));
    const tooLarge = join(dir, 'too-large.yaml');
    writeFileSync(tooLarge, '---\na: 1\n'.repeat(200_000));
    const manyPolicies = join(dir, 'many-policies.yaml');
    writeFileSync(manyPolicies, stringify(Array.from({ length: 1_001 }, (_, i) => ({ ...structuredClone(validPolicy), id: `web-${i}` }))));
    const fine = join(dir, 'fine.yaml');
    writeFileSync(fine, stringify(validPolicy));

    // Act
    const { policies, errors } = await loadPolicyFiles([manyDocuments, tooLarge, manyPolicies, fine]);

    // Assess: one error per oversized file, naming it and the limit; the other file still loads.
    expect(errors.map(formatPolicyError)).toEqual([
      `${manyDocuments}: more than 1,000 YAML documents; a policy file holds at most 1,000 (split it into several files)`,
      `${tooLarge}: file is 1,800,000 bytes; a policy file is at most 1 MiB (1,048,576 bytes) (split it into several files)`,
      `${manyPolicies}: 1,001 policies; a policy file holds at most 1,000 (split it into several files)`,
    ]);
    expect(policies.map((p) => p.file)).toEqual([fine]);
  });
});
