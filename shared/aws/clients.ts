/**
 * AWS clients, one per service and region per process (module scope), so a warm Lambda reuses
 * connections. Every client honours the SDK's standard settings (AWS_REGION, AWS_ENDPOINT_URL_<SERVICE>,
 * AWS_ENDPOINT_URL), and retries throttling with the adaptive mode's backoff.
 *
 * CloudWatch serves most policies and is bundled. The ElastiCache and EKS clients serve only the
 * policies that name an ElastiCache metric or an EKS cluster: they are loaded by import() on first
 * use (infra/bundling.ts installs them beside the bundle), so other cold starts do not parse them.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { lazyLibrary } from '../plugins/lazy.ts';

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

export const elastiCacheLibrary = lazyLibrary('elastiCacheClient', () => import('@aws-sdk/client-elasticache'));
export const elastiCacheClient = perRegion(async (region) => new (await elastiCacheLibrary()).ElastiCacheClient(options(region)));

export const eksLibrary = lazyLibrary('eksClient', () => import('@aws-sdk/client-eks'));
export const eksClient = perRegion(async (region) => new (await eksLibrary()).EKSClient(options(region)));

/** True for the errors AWS returns when a caller is rate limited. */
export function isThrottling(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: { throttling?: boolean } } | undefined;
  return Boolean(e?.$retryable?.throttling) || /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/i.test(e?.name ?? '');
}
