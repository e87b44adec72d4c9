/** `autoscaler validate <files…>`: checks policy files against the schema, offline. */
import { parseArgs } from 'node:util';
import { formatPolicyError, loadPolicyFiles } from '../../shared/policy/load.ts';

export const summary = 'Check policy files (YAML/JSON, files or folders) and print every error as file: path: message';

const help = `Usage: autoscaler validate <file|folder>… [--json]

Checks policies offline against the same schema the functions use. Folders are read for
*.yaml, *.yml and *.json, subfolders included; a YAML file may hold several policies separated by ---.
Policy ids must be unique across all the files given. A file in a folder that is a Kubernetes
manifest (every document has apiVersion and kind, like examples/eks/rbac.yaml) is skipped with a note.

Prints each error as "file: path: message" (path is like rule.steps[2][0]; in a file with
several policies it starts with [n], the policy's position from 0) and exits 1 on any error.
On success prints "ok: N policies in M files" and exits 0.

Options:
  --json    print {"ok": boolean, "policies": [{"file", "index", "id"}], "errors": [{"file", "path", "message"}],
            "warnings": [{"file", "path", "message"}], "skipped": [{"file", "reason"}]}
Warnings (valid, but probably not meant: a step above capacity.max) go to stderr and do not fail.
  --help    show this help`;

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    console.error(`autoscaler validate: ${(error as Error).message}\n\n${help}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(help);
    return 0;
  }
  if (parsed.positionals.length === 0) {
    console.error(`autoscaler validate: name at least one file or folder\n\n${help}`);
    return 2;
  }
  const { policies, errors, skipped, warnings } = await loadPolicyFiles(parsed.positionals);
  if (parsed.values.json) {
    const list = policies.map((p) => ({ file: p.file, index: p.index, id: p.policy.id }));
    console.log(JSON.stringify({ ok: errors.length === 0, policies: list, errors, warnings, skipped }, null, 2));
    return errors.length === 0 ? 0 : 1;
  }
  // A note, not output: stderr keeps stdout to the errors (and the ok line).
  for (const { file, reason } of skipped) console.error(`${file}: skipped: ${reason}`);
  for (const warning of warnings) console.error(`warning: ${formatPolicyError(warning)}`);
  // Errors are this command's output (like tsc or eslint), so they go to stdout for piping into grep.
  for (const error of errors) console.log(formatPolicyError(error));
  if (errors.length > 0) return 1;
  const files = new Set(policies.map((p) => p.file)).size;
  console.log(`ok: ${policies.length} ${policies.length === 1 ? 'policy' : 'policies'} in ${files} ${files === 1 ? 'file' : 'files'}`);
  return 0;
}
