import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Endpoints } from '../../shared/config/endpoints.ts';
import { Policy, type KubernetesTarget } from '../../shared/policy/schema.ts';
import { clearClientCache, setClientClock } from '../../shared/plugins/targets/kubernetes/client.ts';
import { eksToken, stsHostname, tokenPrefix } from '../../shared/plugins/targets/kubernetes/eks-token.ts';
import { kubernetesTarget } from '../../shared/plugins/targets/kubernetes/target.ts';
import { startFakeKubernetes, type FakeKubernetes } from './fake-api.ts';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

function decode(token: string): URL {
  return new URL(Buffer.from(token.slice(tokenPrefix.length), 'base64url').toString('utf8'));
}

describe('EKS token (STS presigned locally with @smithy/signature-v4; no AWS call)', () => {
  it('is k8s-aws-v1. + unpadded base64url of a presigned GetCallerIdentity URL bound to the cluster name', async () => {
    // Prepare
    const at = new Date('2026-11-23T14:00:00Z');
    // Act
    const token = await eksToken('prod', 'eu-west-1', credentials, at);
    // Assess
    expect(token.startsWith(tokenPrefix)).toBe(true);
    const body = token.slice(tokenPrefix.length);
    expect(body).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(body.endsWith('=')).toBe(false);
    const url = decode(token);
    expect(url.origin).toBe('https://sts.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('Version')).toBe('2011-06-15');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('X-Amz-SignedHeaders')!.split(';')).toEqual(expect.arrayContaining(['host', 'x-k8s-aws-id']));
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261123/eu-west-1/sts/aws4_request');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20261123T140000Z');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('signs differently for another cluster name (the header is part of the signature)', async () => {
    // Prepare
    const at = new Date('2026-11-23T14:00:00Z');
    // Act
    const a = decode(await eksToken('prod', 'eu-west-1', credentials, at)).searchParams.get('X-Amz-Signature');
    const b = decode(await eksToken('staging', 'eu-west-1', credentials, at)).searchParams.get('X-Amz-Signature');
    // Assess
    expect(a).not.toBe(b);
  });
});

/**
 * The host check of aws-iam-authenticator's token verifier (kubernetes-sigs/aws-iam-authenticator,
 * pkg/token/token.go, Verify → "unexpected hostname"): it accepts only the STS endpoints of the
 * partition it runs in, `sts.<region>.<partition DNS suffix>` (and the global sts.amazonaws.com in
 * the aws partition). DNS suffixes from the SDK's partitions.json: aws amazonaws.com, aws-us-gov
 * amazonaws.com, aws-cn amazonaws.com.cn.
 */
function authenticatorAcceptsHost(token: string, partition: { dnsSuffix: string; regions: readonly string[]; global?: string }): boolean {
  const hosts = new Set([...partition.regions.map((r) => `sts.${r}.${partition.dnsSuffix}`), ...(partition.global ? [partition.global] : [])]);
  const url = decode(token);
  return url.protocol === 'https:' && hosts.has(url.host) && url.searchParams.get('Action') === 'GetCallerIdentity';
}

describe('EKS token STS host per partition (aws-iam-authenticator host rule)', () => {
  const at = new Date('2026-11-23T14:00:00Z');

  it('regression: a China region\'s token is presigned for sts.<region>.amazonaws.com.cn, which the cluster accepts', async () => {
    // Prepare
    const china = { dnsSuffix: 'amazonaws.com.cn', regions: ['cn-north-1', 'cn-northwest-1'] };
    // Act
    const token = await eksToken('prod', 'cn-north-1', credentials, at);
    // Assess
    expect(decode(token).origin).toBe('https://sts.cn-north-1.amazonaws.com.cn');
    expect(decode(token).searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261123/cn-north-1/sts/aws4_request');
    expect(authenticatorAcceptsHost(token, china)).toBe(true);
  });

  it('keeps amazonaws.com for the aws and aws-us-gov partitions', async () => {
    // Prepare / Act
    const commercial = await eksToken('prod', 'eu-west-1', credentials, at);
    const gov = await eksToken('prod', 'us-gov-west-1', credentials, at);
    // Assess
    expect(authenticatorAcceptsHost(commercial, { dnsSuffix: 'amazonaws.com', regions: ['eu-west-1'], global: 'sts.amazonaws.com' })).toBe(true);
    expect(authenticatorAcceptsHost(gov, { dnsSuffix: 'amazonaws.com', regions: ['us-gov-west-1'] })).toBe(true);
  });

  it('refuses the ISO partitions by name instead of presigning for a host that is not theirs', () => {
    // Prepare / Act / Assess
    expect(() => stsHostname('us-iso-east-1')).toThrow('EKS region "us-iso-east-1": the ISO partitions are not supported (allowed: the aws, aws-us-gov and aws-cn partitions\' regions)');
  });
});

describe('EKS cluster access (EKS mocked with aws-sdk-client-mock; local fake Kubernetes API server)', () => {
  const eks = mockClient(EKSClient);
  let fake: FakeKubernetes;
  let now = 1_000_000;
  const previous = { ...process.env };

  beforeAll(async () => {
    fake = await startFakeKubernetes('unused', (bearer) => bearer.startsWith(tokenPrefix) && decode(bearer).searchParams.get('Action') === 'GetCallerIdentity');
    process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
    setClientClock(() => now);
    clearClientCache();
  });
  afterAll(async () => {
    process.env = previous;
    setClientClock(Date.now);
    eks.restore();
    await fake.close();
  });

  it('finds the endpoint and CA with DescribeCluster, authenticates with a token, and renews it after 10 minutes', async () => {
    // Prepare
    eks.on(DescribeClusterCommand, { name: 'prod-eks' }).resolves({ cluster: { name: 'prod-eks', status: 'ACTIVE', endpoint: fake.url, certificateAuthority: { data: fake.caData } } });
    fake.objects.set('web/deployments/api', { replicas: 6, resourceVersion: 3 });
    const policy = Policy.parse({
      id: 'api',
      target: { type: 'kubernetes', cluster: 'prod', namespace: 'web', kind: 'Deployment', name: 'api' },
      capacity: { min: 1, max: 10 },
      metrics: [{ id: 'm', source: 'cloudwatch', namespace: 'X', name: 'Y' }],
      rule: { type: 'target', metric: 'm', perReplica: 1 },
    });
    const ctx = { endpoints: Endpoints.parse({ kubernetes: { prod: { eks: { name: 'prod-eks', region: 'eu-west-1' } } } }), signal: new AbortController().signal };
    const request = { policy: policy as never, target: policy.target as KubernetesTarget };
    // Act
    const first = await kubernetesTarget.describe(request, ctx);
    now += 5 * 60_000;
    await kubernetesTarget.describe(request, ctx);
    now += 6 * 60_000;
    await kubernetesTarget.describe(request, ctx);
    // Assess
    expect(first.replicas).toBe(6);
    expect(eks.commandCalls(DescribeClusterCommand)).toHaveLength(2);
    expect(fake.requests).toHaveLength(3);
  });
});
