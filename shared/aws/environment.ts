/**
 * The functions' configuration from their environment (set by the CDK stack): named endpoints as
 * JSON in AUTOSCALER_ENDPOINTS (names and secret ids only, never secrets), the replica ceiling in
 * AUTOSCALER_CEILING. Invalid values throw, naming the variable.
 */
import { Endpoints, noEndpoints } from '../config/endpoints.ts';

export const defaultCeiling = 100;

export function endpointsFromLambdaEnvironment(env: NodeJS.ProcessEnv = process.env): Endpoints {
  const raw = env.AUTOSCALER_ENDPOINTS;
  if (raw === undefined || raw.trim() === '') return noEndpoints;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new Error(`AUTOSCALER_ENDPOINTS: not JSON (${(error as Error).message})`);
  }
  const parsed = Endpoints.safeParse(json);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `AUTOSCALER_ENDPOINTS: ${i.path.join('.') || '(top)'}: ${i.message}`).join('\n'));
  return parsed.data;
}

export function ceilingFromEnvironment(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.AUTOSCALER_CEILING;
  if (raw === undefined || raw === '') return defaultCeiling;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 10_000) throw new Error(`AUTOSCALER_CEILING: "${raw}" must be a whole number from 1 to 10000`);
  return value;
}
