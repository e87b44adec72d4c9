/** `autoscaler policy apply|list|get|delete|export`: the policy store, in AWS or local (--local DIR). */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { formatPolicyError, loadPolicyFiles } from '../../shared/policy/load.ts';
import { targetKey } from '../../shared/policy/schema.ts';
import { openStores } from '../../shared/local/store.ts';
import { executePlan, planApply, policyYaml, versionFromComment, versionMarker } from '../../shared/state/apply.ts';
import { isInvalidEntry, type PolicyRecord } from '../../shared/state/policies.ts';

export const summary = 'Apply, list, get, delete and export stored policies (AWS tables, or --local DIR)';

const help = `Usage: autoscaler policy <subcommand> [options]

Subcommands:
  apply -f FILE|DIR [-f …] [--dry-run]   validate every policy first (nothing is written if any is invalid),
                                         print what changes (added / changed with a YAML diff / unchanged), then
                                         write; a policy someone else changed since it was read is rejected
                                         (not written; the others are; exit 1): "read" is the version in the
                                         "# autoscaler: policy ID, version N" comment that get and export
                                         write above each policy, else the version seen when apply starts.
                                         Policies missing from the files are left alone (use delete)
  list [--json]                          all policies (--json: a JSON array)
  get ID [--version N] [--json]          one policy as YAML (or JSON); --version: an earlier version
  delete ID [--version N]                delete a policy (only if still at version N, when given)
  export [--out FILE]                    every policy as multi-document YAML (stdout, or FILE)

Store:
  --local DIR   the local store of \`autoscaler local --data DIR\` (default for local: .autoscaler)
  otherwise     the AWS tables named by POLICIES_TABLE, STATE_TABLE, AUDIT_TABLE (AWS credentials and
                region from the usual AWS environment; AWS_ENDPOINT_URL_DYNAMODB to point elsewhere)

Exit codes: 0 ok, 1 invalid policies / stale write / not found, 2 usage error.`;

const options = {
  file: { type: 'string', short: 'f', multiple: true },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  out: { type: 'string' },
  version: { type: 'string' },
  local: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options });
  } catch (error) {
    console.error(`autoscaler policy: ${(error as Error).message}\n\n${help}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (values.help || sub === undefined || sub === 'help') {
    console.log(help);
    return values.help || sub === 'help' ? 0 : 2;
  }
  const usage = (text: string) => {
    console.error(`autoscaler policy ${sub}: ${text}\n\n${help}`);
    return 2;
  };
  const dispatch = async (): Promise<number> => {
    switch (sub) {
      case 'apply':
        if (!values.file?.length) return usage('name the policies with -f FILE|DIR');
        if (rest.length > 0) return usage(`unexpected argument "${rest[0]}" (use -f before each file)`);
        return apply(values.file, values['dry-run'] === true, values.local);
      case 'list':
        if (rest.length > 0) return usage(`unexpected argument "${rest[0]}"`);
        return list(values.json === true, values.local);
      case 'get': {
        if (rest.length !== 1) return usage('name one policy id');
        const version = values.version === undefined ? undefined : Number(values.version);
        if (version !== undefined && !(Number.isInteger(version) && version >= 1)) return usage(`--version: "${values.version}" is not a version (a whole number from 1)`);
        return get(rest[0]!, version, values.json === true, values.local);
      }
      case 'delete': {
        if (rest.length !== 1) return usage('name one policy id');
        const version = values.version === undefined ? undefined : Number(values.version);
        if (version !== undefined && !(Number.isInteger(version) && version >= 1)) return usage(`--version: "${values.version}" is not a version (a whole number from 1)`);
        return remove(rest[0]!, version, values.local);
      }
      case 'export':
        if (rest.length > 0) return usage(`unexpected argument "${rest[0]}"`);
        return exportAll(values.out, values.local);
      default:
        return usage(`unknown subcommand "${sub}" (allowed: apply, list, get, delete, export)`);
    }
  };
  try {
    return await dispatch();
  } catch (error) {
    // The store could not be opened or did not answer: say which, exit 1.
    console.error(`autoscaler policy ${sub}: ${(error as Error).message}`);
    return 1;
  }
}

async function apply(files: string[], dryRun: boolean, local: string | undefined): Promise<number> {
  const { policies, errors } = await loadPolicyFiles(files);
  if (errors.length > 0) {
    for (const error of errors) console.error(formatPolicyError(error));
    console.error(`nothing written: ${errors.length} ${errors.length === 1 ? 'error' : 'errors'}`);
    return 1;
  }
  if (policies.length === 0) {
    console.error('nothing to apply: no policies in the given files');
    return 1;
  }
  // The version each file says it was read at (the comment get and export write above a policy).
  const readAt = new Map(policies.flatMap((p) => {
    const version = versionFromComment(p.policy.id, p.leadingComment);
    return version === undefined ? [] : [[p.policy.id, version] as const];
  }));
  const { stores, close } = await openStores(local, { create: true });
  try {
    const plan = await planApply(stores.policies, policies.map((p) => p.policy), readAt);
    for (const entry of plan) {
      if (entry.change === 'added') console.log(`+ ${entry.id} (added)`);
      else if (entry.change === 'stale') console.log(`! ${entry.id} (stale: read at version ${entry.expectedVersion})`);
      else if (entry.change === 'unchanged') console.log(`  ${entry.id} (unchanged, version ${entry.expectedVersion})`);
      else {
        console.log(`~ ${entry.id} (changed, version ${entry.expectedVersion} → ${entry.expectedVersion + 1})`);
        for (const line of entry.diff) console.log(`    ${line}`);
      }
    }
    const count = (c: string) => plan.filter((e) => e.change === c).length;
    const totals = `${count('added')} added, ${count('changed')} changed, ${count('unchanged')} unchanged`;
    if (dryRun) {
      for (const entry of plan) if (entry.staleMessage) console.error(`${entry.id}: ${entry.staleMessage}`);
      console.log(`dry run: ${totals}${count('stale') > 0 ? `, ${count('stale')} stale` : ''}; nothing written`);
      return count('stale') > 0 ? 1 : 0;
    }
    const outcome = await executePlan(stores.policies, plan);
    for (const stale of outcome.stale) console.error(`${stale.id}: ${stale.message}`);
    console.log(`${totals}${outcome.stale.length > 0 ? `; ${outcome.stale.length} rejected as stale` : ''}`);
    return outcome.stale.length > 0 ? 1 : 0;
  } finally {
    await close();
  }
}

async function list(json: boolean, local: string | undefined): Promise<number> {
  const { stores, close } = await openStores(local);
  try {
    const entries = await stores.policies.entries();
    const records = entries.filter((e): e is PolicyRecord => !isInvalidEntry(e));
    const invalid = entries.filter(isInvalidEntry);
    if (json) {
      console.log(
        JSON.stringify(
          entries.map((r) =>
            isInvalidEntry(r)
              ? { id: r.id, version: r.version, updatedAt: r.updatedAt, invalid: true, problems: r.problems }
              : { id: r.policy.id, version: r.version, updatedAt: r.updatedAt, policy: r.policy, ...(r.ignoredFields ? { ignoredFields: r.ignoredFields } : {}) },
          ),
          null,
          2,
        ),
      );
      return 0;
    }
    if (entries.length === 0) {
      console.log('no policies');
      return 0;
    }
    const rows = records.map((r) => [
      r.policy.id,
      String(r.version),
      r.policy.enabled ? (r.policy.dryRun ? 'dry-run' : 'enabled') : 'disabled',
      targetKey(r.policy.target),
      `${r.policy.capacity.min}-${r.policy.capacity.max}`,
      r.policy.alarms.join(',') || '-',
      r.updatedAt,
    ]);
    for (const r of invalid) rows.push([r.id, String(r.version), 'INVALID', r.target, '-', r.alarms.join(',') || '-', r.updatedAt]);
    rows.sort((a, b) => a[0]!.localeCompare(b[0]!));
    printRows(['ID', 'VERSION', 'STATE', 'TARGET', 'REPLICAS', 'ALARMS', 'UPDATED'], rows);
    for (const r of invalid) {
      console.log(`\n${r.id} (version ${r.version}) no longer validates; it is skipped (audited PolicyInvalid) until fixed with \`policy apply\` or removed with \`policy delete ${r.id}\`:`);
      for (const problem of r.problems) console.log(`  ${problem}`);
    }
    return 0;
  } finally {
    await close();
  }
}

async function get(id: string, version: number | undefined, json: boolean, local: string | undefined): Promise<number> {
  const { stores, close } = await openStores(local);
  try {
    const record = version === undefined ? await stores.policies.entry(id) : await stores.policies.getVersion(id, version);
    if (!record) {
      console.error(`autoscaler policy get: no policy "${id}"${version === undefined ? '' : ` at version ${version}`}`);
      return 1;
    }
    if (isInvalidEntry(record)) {
      // Shown as stored, with what is wrong, so it can be fixed and applied again (the version marker makes that an overwrite).
      if (json) console.log(JSON.stringify({ id, version: record.version, updatedAt: record.updatedAt, invalid: true, problems: record.problems, document: record.document }, null, 2));
      else {
        const problems = record.problems.map((p) => `# INVALID: ${p}\n`).join('');
        process.stdout.write(`${versionMarker(id, record.version, record.updatedAt)}${problems}${stringify(record.document, { lineWidth: 0 })}`);
      }
      return 0;
    }
    if (json) console.log(JSON.stringify({ id, version: record.version, updatedAt: record.updatedAt, policy: record.policy, ...(record.ignoredFields ? { ignoredFields: record.ignoredFields } : {}) }, null, 2));
    else process.stdout.write(`${versionMarker(id, record.version, record.updatedAt)}${record.ignoredFields ? `# ignored (unknown to this version): ${record.ignoredFields.join(', ')}\n` : ''}${policyYaml(record.policy)}`);
    return 0;
  } finally {
    await close();
  }
}

async function remove(id: string, version: number | undefined, local: string | undefined): Promise<number> {
  const { stores, close } = await openStores(local);
  try {
    const deleted = await stores.policies.delete(id, version);
    if (!deleted) {
      console.error(`autoscaler policy delete: no policy "${id}"`);
      return 1;
    }
    console.log(`deleted ${id}`);
    return 0;
  } catch (error) {
    console.error(`autoscaler policy delete: ${(error as Error).message}`);
    return 1;
  } finally {
    await close();
  }
}

async function exportAll(out: string | undefined, local: string | undefined): Promise<number> {
  const { stores, close } = await openStores(local);
  try {
    const records = await stores.policies.list();
    const text = records.map((r) => `${versionMarker(r.policy.id, r.version, r.updatedAt)}${policyYaml(r.policy)}`).join('---\n');
    if (out) {
      await writeFile(out, text);
      console.error(`exported ${records.length} ${records.length === 1 ? 'policy' : 'policies'} to ${out}`);
    } else {
      process.stdout.write(text);
    }
    return 0;
  } finally {
    await close();
  }
}

export function printRows(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}
