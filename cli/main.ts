/**
 * `autoscaler <command>`: each command lives in cli/commands/<name>.ts and exports
 * `run(args: string[]): Promise<number>` (the exit code) and `summary` (one line for --help).
 */
interface Command {
  readonly summary: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  validate: () => import('./commands/validate.ts'),
  simulate: () => import('./commands/simulate.ts'),
  policy: () => import('./commands/policy.ts'),
  audit: () => import('./commands/audit.ts'),
  local: () => import('./commands/local.ts'),
  demo: () => import('./commands/demo.ts'),
};

async function usage(): Promise<string> {
  const lines = ['Usage: autoscaler <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(commands)) {
    const summary = await load().then((c) => c.summary, () => '(not available)');
    lines.push(`  ${name.padEnd(10)} ${summary}`);
  }
  lines.push('', 'Run `autoscaler <command> --help` for its options; `autoscaler --version` prints the version.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    console.log(`autoscaler ${pkg.version} (Node ${process.versions.node})`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`autoscaler: unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  const command = await load();
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`autoscaler: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
