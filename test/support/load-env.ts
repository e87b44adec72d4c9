// Loads .test-services.env (written by scripts/test-services.sh) so integration suites find the services.
// AUTOSCALER_IGNORE_TEST_SERVICES_ENV=1 leaves it unread: test/support/services.test.ts runs the
// integration suites as a machine without services would.
import { existsSync, readFileSync } from 'node:fs';

const file = new URL('../../.test-services.env', import.meta.url);
if (existsSync(file) && process.env.AUTOSCALER_IGNORE_TEST_SERVICES_ENV !== '1') {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match && process.env[match[1]!] === undefined) process.env[match[1]!] = match[2]!;
  }
}
