/**
 * AWS clients, one per service and region per process (module scope), so a warm Lambda reuses
 * connections. Every client honours the SDK's standard settings (AWS_REGION, AWS_ENDPOINT_URL_<SERVICE>,
 * AWS_ENDPOINT_URL), and retries throttling with the adaptive mode's backoff.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { EKSClient } from '@aws-sdk/client-eks';

/** Attempts per call, throttling included; beyond that the caller records the error. */
export const maxAttempts = 5;

type Factory<C> = (region: string | undefined) => C;

function perRegion<C>(create: Factory<C>): Factory<C> {
  const clients = new Map<string, C>();
  return (region) => {
    const key = region ?? '';
    let client = clients.get(key);
    if (!client) {
      client = create(region);
      clients.set(key, client);
    }
    return client;
  };
}

const options = (region: string | undefined) => ({ ...(region ? { region } : {}), retryMode: 'adaptive', maxAttempts });

export const cloudWatchClient = perRegion((region) => new CloudWatchClient(options(region)));
export const elastiCacheClient = perRegion((region) => new ElastiCacheClient(options(region)));
export const eksClient = perRegion((region) => new EKSClient(options(region)));

/** True for the errors AWS returns when a caller is rate limited. */
export function isThrottling(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: { throttling?: boolean } } | undefined;
  return Boolean(e?.$retryable?.throttling) || /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/i.test(e?.name ?? '');
}
