/**
 * Inputs are checked at synth, before anything is built: the construct's props, the endpoints the
 * functions get, and the deployment configuration from CDK context. Each error names the field.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { Autoscaler } from '../../infra/autoscaler.ts';
import { parseDeploymentConfig } from '../../infra/config.ts';
import { checkEndpoints } from '../../infra/endpoints-check.ts';

const granted = { eksClusterNames: ['prod'], grantedSecretIds: new Set(['autoscaler/tls', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:autoscaler/redis-AbCdEf']) };

function build(props: ConstructorParameters<typeof Autoscaler>[2]): () => void {
  return () => new Autoscaler(new Stack(new App(), 'S'), 'A', props);
}

describe('Autoscaler props are validated before anything is built', () => {
  it('rejects a schedule finer than a minute or not in whole minutes', () => {
    // Prepare / Act / Assess
    expect(build({ schedule: Duration.seconds(30) })).toThrow(/schedule: 30 s; allowed: whole minutes/);
    expect(build({ schedule: Duration.seconds(90) })).toThrow(/schedule: 90 s/);
  });

  it('rejects a replica ceiling outside 1..10000', () => {
    expect(build({ replicaCeiling: 0 })).toThrow(/replicaCeiling: 0; allowed: a whole number from 1 to 10000/);
    expect(build({ replicaCeiling: 2.5 })).toThrow(/replicaCeiling: 2.5/);
  });

  it('rejects fan-out sizes outside their bounds', () => {
    expect(build({ workerReservedConcurrency: 0 })).toThrow(/workerReservedConcurrency: 0; allowed: a whole number from 1 to 1000/);
    expect(build({ maxTargetsPerShard: 1.5 })).toThrow(/maxTargetsPerShard: 1.5; allowed: a whole number from 1 to 1000/);
    expect(build({ inProcessMaxTargets: -1 })).toThrow(/inProcessMaxTargets: -1; allowed: a whole number from 0 to 1000/);
  });

  it('rejects an audit retention outside 1..36500 days', () => {
    expect(build({ auditRetentionDays: 0 })).toThrow(/auditRetentionDays: 0; allowed: a whole number of days from 1 to 36500/);
  });

  it('rejects EKS clusters with bad names, duplicates, or no or invalid namespaces', () => {
    expect(build({ eksClusters: [{ clusterName: 'bad name', namespaces: ['web'] }] })).toThrow(/eksClusters\[0\]\.clusterName: "bad name"/);
    expect(build({ eksClusters: [{ clusterName: 'prod', namespaces: ['web'] }, { clusterName: 'prod', namespaces: ['web'] }] })).toThrow(/eksClusters\[1\]\.clusterName: "prod" is listed twice/);
    expect(build({ eksClusters: [{ clusterName: 'prod', namespaces: [] }] })).toThrow(/eksClusters\[0\]\.namespaces: empty/);
    expect(build({ eksClusters: [{ clusterName: 'prod', namespaces: ['Web_1'] }] })).toThrow(/eksClusters\[0\]\.namespaces\[0\]: "Web_1"/);
  });

  it('rejects endpoints that name a cluster or a secret the stack does not grant', () => {
    expect(build({ endpoints: { kubernetes: { prod: { eks: { name: 'prod' } } } } })).toThrow(/endpoints\.kubernetes\.prod: EKS cluster "prod" is not among the granted clusters \(none\)/);
  });

  it('regression: rejects an EKS endpoint in another region than the stack\'s (its access entry and ARN are built in the stack\'s region), naming the field', () => {
    // Prepare
    const stack = (region?: string) => new Stack(new App(), 'S', region ? { env: { account: '123456789012', region } } : {});
    const endpoints = { kubernetes: { prod: { eks: { name: 'prod', region: 'us-east-1' } } } };
    const eksClusters = [{ clusterName: 'prod', namespaces: ['web'] }];
    // Act / Assess
    expect(() => new Autoscaler(stack('eu-west-1'), 'A', { eksClusters, endpoints })).toThrow(
      'endpoints.kubernetes.prod.eks.region: "us-east-1"; allowed: the stack\'s region "eu-west-1" (the access entry and eks:DescribeCluster are granted there; deploy an autoscaler in us-east-1 for that cluster)',
    );
    expect(() => new Autoscaler(stack(), 'A', { eksClusters, endpoints })).toThrow(/endpoints\.kubernetes\.prod\.eks\.region: "us-east-1" cannot be checked against an environment-agnostic stack/);
    expect(checkEndpoints(endpoints, { ...granted, stackRegion: 'us-east-1' }).kubernetes.prod).toEqual({ eks: { name: 'prod', region: 'us-east-1' } });
  });

  it('rejects malformed or empty elastiCacheRegions, naming the entry', () => {
    expect(build({ elastiCacheRegions: ['eu-west-1', 'moon'] })).toThrow('elastiCacheRegions[1]: "moon"; allowed: an AWS region such as eu-west-1');
    expect(build({ elastiCacheRegions: [] })).toThrow(/elastiCacheRegions: empty/);
    expect(() => parseDeploymentConfig({ elastiCacheRegions: ['mars'] })).toThrow(/context "autoscaler"\.elastiCacheRegions\.0: an AWS region such as eu-west-1/);
  });

  it('rejects endpoints too large for the functions\' environment', () => {
    const haproxy = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`lb-${i}`, { address: `haproxy-${i}.internal:9999` }]));
    expect(build({ endpoints: { haproxy } })).toThrow(/bytes of JSON, more than the 3000/);
  });
});

describe('checkEndpoints (what can work from Lambda)', () => {
  it('accepts remote Docker over mutual TLS from granted secrets, EKS clusters granted, Redis with a granted password', () => {
    // Prepare
    const input = {
      docker: { edge: { host: 'tcp://10.0.0.5:2376', tls: { ca: { secretId: 'autoscaler/tls' }, cert: { secretId: 'autoscaler/tls' }, key: { secretId: 'autoscaler/tls' } } } },
      redis: { cache: { url: 'rediss://cache:6379/0', password: { secretId: 'autoscaler/redis' } } },
      kubernetes: { prod: { eks: { name: 'prod' } } },
    };
    // Act
    const endpoints = checkEndpoints(input, granted);
    // Assess
    expect(endpoints.docker.edge).toEqual(input.docker.edge);
    expect(endpoints.haproxy).toEqual({});
  });

  it('names every problem: sockets, files, kubeconfig, plain TCP, ungranted secrets and clusters', () => {
    // Prepare
    const input = {
      docker: { local: { socket: '/var/run/docker.sock' }, plain: { host: 'tcp://10.0.0.5:2375' }, files: { host: 'tcp://10.0.0.6:2376', tls: { ca: { file: '/certs/ca.pem' }, cert: { secretId: 'other' }, key: { secretId: 'autoscaler/tls' } } } },
      haproxy: { lb: { socket: '/run/haproxy.sock' } },
      kubernetes: { dev: { kubeconfig: { context: 'dev' } }, staging: { eks: { name: 'staging' } } },
    };
    // Act
    const error = (() => {
      try {
        checkEndpoints(input, granted);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    // Assess
    expect(error).toContain('endpoints.docker.local: a unix socket ("/var/run/docker.sock") is not reachable from Lambda');
    expect(error).toContain('endpoints.docker.plain: a remote Docker host needs mutual TLS');
    expect(error).toContain('endpoints.docker.files.tls.ca: a file ("/certs/ca.pem") does not exist in Lambda');
    expect(error).toContain('endpoints.docker.files.tls.cert: secret "other" is not among the granted secrets');
    expect(error).not.toContain('endpoints.docker.files.tls.key');
    expect(error).toContain('endpoints.haproxy.lb: a unix socket');
    expect(error).toContain('endpoints.kubernetes.dev: a kubeconfig does not exist in Lambda');
    expect(error).toContain('endpoints.kubernetes.staging: EKS cluster "staging" is not among the granted clusters (prod)');
  });

  it('reports schema errors with their path', () => {
    expect(() => checkEndpoints({ redis: { cache: { url: 'redis://user:pw@cache:6379' } } }, granted)).toThrow(/endpoints\.redis\.cache\.url: redis:\/\/host:port\[\/db\] without credentials/);
  });

  it('skips the secret check when the granted secrets are not known at synth', () => {
    const input = { redis: { cache: { url: 'rediss://cache:6379', password: { secretId: 'anything' } } } };
    expect(checkEndpoints(input, { eksClusterNames: [], grantedSecretIds: undefined }).redis.cache?.password).toEqual({ secretId: 'anything' });
  });
});

describe('parseDeploymentConfig (CDK context "autoscaler")', () => {
  it('accepts nothing at all (the defaults) and a JSON string given with -c', () => {
    expect(parseDeploymentConfig(undefined)).toEqual({});
    expect(parseDeploymentConfig('{"replicaCeiling":50,"scheduleMinutes":2}')).toEqual({ replicaCeiling: 50, scheduleMinutes: 2 });
  });

  it('names the field and what is allowed', () => {
    expect(() => parseDeploymentConfig({ logRetentionDays: 31 })).toThrow(/context "autoscaler"\.logRetentionDays: one of CloudWatch Logs' retention periods: .*30/);
    expect(() => parseDeploymentConfig({ alarmTopicArn: 'my-topic' })).toThrow(/context "autoscaler"\.alarmTopicArn: an SNS topic ARN/);
    expect(() => parseDeploymentConfig({ vpc: { vpcId: 'vpc-0abc', subnetIds: [] } })).toThrow(/context "autoscaler"\.vpc\.subnetIds/);
    expect(() => parseDeploymentConfig({ sheduleMinutes: 1 })).toThrow(/context "autoscaler"/);
    expect(() => parseDeploymentConfig('{not json')).toThrow(/context "autoscaler": not JSON/);
  });
});
