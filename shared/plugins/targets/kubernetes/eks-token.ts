/**
 * EKS authentication without the aws CLI: the bearer token is `k8s-aws-v1.` followed by the
 * base64url (unpadded) of a presigned STS GetCallerIdentity URL whose signature covers the header
 * `x-k8s-aws-id: <cluster name>` (what `aws eks get-token` does). Tokens live 15 minutes; callers
 * renew after `tokenRefreshMs`.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import type { STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';
import { eksClient, eksLibrary } from '../../../aws/clients.ts';
import { lazyLibrary } from '../../lazy.ts';

// Loaded with the Kubernetes target, not at every cold start (see ../../aws/clients.ts).
const stsLibrary = lazyLibrary('stsClient', () => import('@aws-sdk/client-sts'));

export const tokenPrefix = 'k8s-aws-v1.';
/** Renew well inside the 15-minute validity. */
export const tokenRefreshMs = 10 * 60_000;

export interface EksCluster {
  readonly endpoint: string;
  /** Base64 PEM of the cluster CA, as DescribeCluster returns it. */
  readonly caData: string;
}

export async function describeEksCluster(name: string, region: string | undefined, signal?: AbortSignal): Promise<EksCluster> {
  const { DescribeClusterCommand } = await eksLibrary();
  const response = await (await eksClient(region)).send(new DescribeClusterCommand({ name }), signal ? { abortSignal: signal } : {});
  const cluster = response.cluster;
  if (!cluster?.endpoint || !cluster.certificateAuthority?.data) throw new Error(`EKS cluster "${name}" has no endpoint or certificate authority yet (status ${cluster?.status ?? 'unknown'})`);
  return { endpoint: cluster.endpoint, caData: cluster.certificateAuthority.data };
}

let sts: STSClient | undefined;

/** The Lambda's own credentials, through the SDK's default chain (cached and refreshed by the SDK). */
async function defaultCredentials(region: string): Promise<AwsCredentialIdentity> {
  sts ??= new (await stsLibrary()).STSClient({ region });
  return sts.config.credentials();
}

/**
 * The regional STS host the token is presigned for, in the region's partition: aws-iam-authenticator
 * (pkg/token/token.go) accepts only the STS hosts of its own partition, `sts.<region>.amazonaws.com.cn`
 * in China. The ISO partitions are not supported: refused here rather than sent to a host that
 * does not exist there.
 */
export function stsHostname(region: string): string {
  if (/^cn-/.test(region)) return `sts.${region}.amazonaws.com.cn`;
  if (/^[a-z]{2}-iso[a-z]*-/.test(region)) throw new Error(`EKS region "${region}": the ISO partitions are not supported (allowed: the aws, aws-us-gov and aws-cn partitions' regions)`);
  return `sts.${region}.amazonaws.com`;
}

export async function eksToken(clusterName: string, region: string, credentials?: AwsCredentialIdentity, now: Date = new Date()): Promise<string> {
  const hostname = stsHostname(region);
  const signer = new SignatureV4({ credentials: credentials ?? (await defaultCredentials(region)), region, service: 'sts', sha256: Sha256 });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, 'x-k8s-aws-id': clusterName },
    },
    { expiresIn: 60, signingDate: now },
  );
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const url = `https://${hostname}/?${query}`;
  return tokenPrefix + Buffer.from(url, 'utf8').toString('base64url');
}
