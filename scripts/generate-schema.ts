/**
 * `npm run schema`: writes schema/policy.schema.json from the zod policy schema (the source of truth).
 * test/policy/schema.test.ts fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as z from 'zod/mini';
import { Policy } from '../shared/policy/schema.ts';

export const schemaFile = fileURLToPath(new URL('../schema/policy.schema.json', import.meta.url));

/** The JSON Schema text, exactly as committed (2-space indent, trailing newline). */
export function policyJsonSchemaText(): string {
  // io: 'input' describes what a user writes (defaults make fields optional); refinements
  // (min <= max, ascending steps, known metric ids) are not representable and stay in zod.
  const generated = z.toJSONSchema(Policy, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  const document = {
    $schema,
    $id: 'urn:container-autoscaler:schema:policy:v1',
    title: 'Autoscaler policy',
    description: 'One scaling policy for a Docker service or a Kubernetes workload. Validate with `npx autoscaler validate`; some rules (min <= max, ascending steps, rules naming known metrics) are checked only there.',
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(schemaFile, policyJsonSchemaText());
  console.log(`wrote ${schemaFile}`);
}
