// Loads .test-services.env (written by scripts/test-services.sh) so integration suites find the services.
import { existsSync, readFileSync } from 'node:fs';

const file = new URL('../../.test-services.env', import.meta.url);
if (existsSync(file)) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match && process.env[match[1]!] === undefined) process.env[match[1]!] = match[2]!;
  }
}
