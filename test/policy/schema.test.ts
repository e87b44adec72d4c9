import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { policyJsonSchemaText, schemaFile } from '../../scripts/generate-schema.ts';
import { loadPolicyFiles } from '../../shared/policy/load.ts';

const examplesDir = new URL('../../examples/', import.meta.url);
const exampleFiles = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml')).sort();

describe('schema/policy.schema.json', () => {
  it('is up to date with the zod schema (run `npm run schema` when this fails)', () => {
    // Prepare
    const committed = readFileSync(schemaFile, 'utf8');

    // Act
    const generated = policyJsonSchemaText();

    // Assess
    expect(committed).toBe(generated);
  });

  it('names itself and rejects unknown fields, as the zod schema does', () => {
    // Prepare
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;

    // Act
    const { $id, title, additionalProperties, required } = schema;

    // Assess
    expect($id).toMatch(/policy/);
    expect(title).toBe('Autoscaler policy');
    expect(additionalProperties).toBe(false);
    expect(required).toEqual(expect.arrayContaining(['id', 'target', 'capacity', 'metrics', 'rule']));
  });

  it.each(exampleFiles)('examples/%s validates against the JSON Schema (an independent reading of it)', (file) => {
    // Prepare
    const jsonSchema = z.fromJSONSchema(JSON.parse(readFileSync(schemaFile, 'utf8')));
    const policy: unknown = parse(readFileSync(new URL(file, examplesDir), 'utf8'));

    // Act
    const result = jsonSchema.safeParse(policy);

    // Assess
    expect(result.error?.issues ?? []).toEqual([]);
  });

  it('the JSON Schema rejects an unknown field and a wrong target type', () => {
    // Prepare
    const jsonSchema = z.fromJSONSchema(JSON.parse(readFileSync(schemaFile, 'utf8')));
    const policy = parse(readFileSync(new URL('web-haproxy.yaml', examplesDir), 'utf8')) as Record<string, unknown>;

    // Act
    const withUnknownField = jsonSchema.safeParse({ ...policy, bogus: 1 });
    const withWrongTarget = jsonSchema.safeParse({ ...policy, target: { type: 'ecs', service: 'web' } });

    // Assess
    expect(withUnknownField.success).toBe(false);
    expect(withWrongTarget.success).toBe(false);
  });

  it('every example passes the zod schema, ids are unique, and each points editors at the JSON Schema', async () => {
    // Prepare
    const paths = exampleFiles.map((f) => new URL(f, examplesDir).pathname);

    // Act
    const { policies, errors } = await loadPolicyFiles(paths);

    // Assess
    expect(errors).toEqual([]);
    expect(policies.length).toBeGreaterThanOrEqual(4);
    for (const path of paths) expect(readFileSync(path, 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\.\/schema\/policy\.schema\.json$/m);
  });
});
