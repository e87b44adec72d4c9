/**
 * Integration suites need real services. Locally a missing service skips the suite with a
 * one-line reason; in CI (CI=true) a missing service fails it instead.
 */
import { describe, it } from 'vitest';

/** Returns the missing settings among `keys` (empty when all are set). */
export function missingSettings(keys: readonly string[]): string[] {
  return keys.filter((key) => !process.env[key]);
}

/**
 * `describe` that runs when every setting is present; otherwise skips locally and fails in CI.
 * Usage: describeWithServices('docker target (real engine)', ['DOCKER_HOST'], () => { ... })
 *
 * A skipped suite never runs `body`: vitest collects a skipped describe by calling it, and a body
 * that reads its settings (`process.env.HAPROXY_SOCKET!`) would crash the file instead of skipping.
 * The reason is the name of the suite's one skipped test, so reports show it too.
 */
export function describeWithServices(name: string, keys: readonly string[], body: () => void): void {
  const missing = missingSettings(keys);
  if (missing.length === 0) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      throw new Error(`${name}: required test services are missing (${missing.join(', ')}); run scripts/test-services.sh`);
    });
  } else {
    const reason = `${missing.join(', ')} not set (run scripts/test-services.sh)`;
    console.warn(`skipping "${name}": ${reason}`);
    describe.skip(name, () => {
      it.skip(`skipped: ${reason}`, () => undefined);
    });
  }
}
