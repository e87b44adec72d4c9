import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { DescribeCacheClustersCommand, DescribeReplicationGroupsCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { cloudWatchSource } from '../../shared/plugins/metrics/cloudwatch/source.ts';
import { queriesFor } from '../../shared/aws/cloudwatch-batch.ts';
import { aggregate, clearTopologyCache, elastiCacheSource, setTopologyClock } from '../../shared/plugins/metrics/elasticache/source.ts';
import type { MetricRequest, PluginContext } from '../../shared/plugins/types.ts';
import { CloudWatchExpression, CloudWatchMetric, ElastiCacheMetric } from '../../shared/policy/schema.ts';

const cloudWatch = mockClient(CloudWatchClient);
const elastiCache = mockClient(ElastiCacheClient);
const ctx: PluginContext = { endpoints: noEndpoints, signal: new AbortController().signal };

function metricRequest(i: number, extra: Record<string, unknown> = {}): MetricRequest<CloudWatchMetric> {
  const metric = CloudWatchMetric.parse({ id: 'queue', source: 'cloudwatch', namespace: 'App', name: 'Depth', dimensions: { Queue: `q${i}` }, ...extra });
  return { key: `p${i}/queue`, metric };
}

/** Answers every query with one datapoint whose value is its query's position, 10 s old. */
function answerAll(input: GetMetricDataCommandInput) {
  const at = new Date(input.EndTime!.getTime() - 10_000);
  return {
    MetricDataResults: (input.MetricDataQueries ?? []).filter((q) => q.ReturnData !== false).map((q) => ({ Id: q.Id, Timestamps: [at], Values: [Number(q.Id!.slice(1))], StatusCode: 'Complete' as const })),
  };
}

beforeEach(() => {
  cloudWatch.reset();
  elastiCache.reset();
  clearTopologyCache();
});

describe('CloudWatch source (CloudWatch mocked with aws-sdk-client-mock)', () => {
  it('sends 1,200 queries as 3 GetMetricData calls of at most 500', async () => {
    // Prepare
    cloudWatch.on(GetMetricDataCommand).callsFake(answerAll);
    const requests = Array.from({ length: 1200 }, (_, i) => metricRequest(i));
    // Act
    const results = await cloudWatchSource.fetch(requests, ctx);
    // Assess
    const calls = cloudWatch.commandCalls(GetMetricDataCommand);
    expect(calls.map((c) => c.args[0].input.MetricDataQueries!.length)).toEqual([500, 500, 200]);
    expect(results.size).toBe(1200);
    const ids = calls.flatMap((c) => c.args[0].input.MetricDataQueries!.map((q) => q.Id));
    for (const call of calls) expect(new Set(call.args[0].input.MetricDataQueries!.map((q) => q.Id)).size).toBe(call.args[0].input.MetricDataQueries!.length);
    expect(ids.length).toBe(1200);
    expect(results.get('p0/queue')).toMatchObject({ value: 0 });
    expect(results.get('p700/queue')).toMatchObject({ value: 200 });
  });

  it('builds the exact request: metric stat, period, StartTime = now - 5 periods, newest first', async () => {
    // Prepare
    cloudWatch.on(GetMetricDataCommand).callsFake(answerAll);
    const before = Date.now();
    // Act
    await cloudWatchSource.fetch([metricRequest(1, { stat: 'p90', period: 300 })], ctx);
    // Assess
    const input = cloudWatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input.ScanBy).toBe('TimestampDescending');
    expect(input.MetricDataQueries).toEqual([
      { Id: 'q0', ReturnData: true, MetricStat: { Metric: { Namespace: 'App', MetricName: 'Depth', Dimensions: [{ Name: 'Queue', Value: 'q1' }] }, Period: 300, Stat: 'p90' } },
    ]);
    expect(input.EndTime!.getTime() - input.StartTime!.getTime()).toBe(1500 * 1000);
    expect(input.EndTime!.getTime()).toBeGreaterThanOrEqual(before);
  });

  it('sends math expressions with their sub-metrics hidden and renamed apart', async () => {
    // Prepare
    cloudWatch.on(GetMetricDataCommand).callsFake(answerAll);
    const expression = (policy: string): MetricRequest<CloudWatchExpression> => ({
      key: `${policy}/ratio`,
      metric: CloudWatchExpression.parse({
        id: 'ratio', source: 'cloudwatch', expression: 'm1 / m2',
        using: { m1: { namespace: 'App', name: 'Busy' }, m2: { namespace: 'App', name: 'Total', stat: 'Sum' } },
      }),
    });
    // Act
    const results = await cloudWatchSource.fetch([expression('a'), expression('b')], ctx);
    // Assess
    const queries = cloudWatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input.MetricDataQueries!;
    expect(queries.map((q) => [q.Id, q.ReturnData, q.Expression])).toEqual([
      ['q0_m1', false, undefined], ['q0_m2', false, undefined], ['q0', true, 'q0_m1 / q0_m2'],
      ['q1_m1', false, undefined], ['q1_m2', false, undefined], ['q1', true, 'q1_m1 / q1_m2'],
    ]);
    expect(results.get('b/ratio')).toMatchObject({ value: 1 });
  });

  it('renames sub-metric ids in the expression but not inside its string literals', () => {
    // Prepare
    const request = { key: 'p/x', region: undefined, period: 60, lookbackSeconds: 300, expression: { text: `FILL(m1, 0) + m2 * 0 + LEN(INSIGHT_RULE_METRIC('m1 rule', "m2"))`, using: { m1: { namespace: 'A', name: 'B', dimensions: {}, stat: 'Sum' }, m2: { namespace: 'A', name: 'C', dimensions: {}, stat: 'Sum' } } } };
    // Act
    const queries = queriesFor(request, 3);
    // Assess
    expect(queries.at(-1)!.Expression).toBe(`FILL(q3_m1, 0) + q3_m2 * 0 + LEN(INSIGHT_RULE_METRIC('m1 rule', "m2"))`);
  });

  it('follows NextToken and keeps the newest datapoint of each query', async () => {
    // Prepare
    const now = Date.now();
    cloudWatch
      .on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', Timestamps: [new Date(now - 60_000)], Values: [5] }], NextToken: 'page-2' })
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', Timestamps: [new Date(now - 30_000)], Values: [7] }, { Id: 'q1', Timestamps: [new Date(now - 120_000)], Values: [3] }] });
    // Act
    const results = await cloudWatchSource.fetch([metricRequest(0), metricRequest(1)], ctx);
    // Assess
    const calls = cloudWatch.commandCalls(GetMetricDataCommand);
    expect(calls.map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'page-2']);
    expect(results.get('p0/queue')).toMatchObject({ value: 7 });
    expect(results.get('p1/queue')).toMatchObject({ value: 3 });
  });

  it('groups queries by region', async () => {
    // Prepare
    const regions: string[] = [];
    cloudWatch.on(GetMetricDataCommand).callsFake(async (input, getClient) => {
      regions.push(await getClient().config.region());
      return answerAll(input);
    });
    const requests = [metricRequest(0, { region: 'eu-west-1' }), metricRequest(1, { region: 'us-east-1' }), metricRequest(2, { region: 'eu-west-1' })];
    // Act
    await cloudWatchSource.fetch(requests, ctx);
    // Assess
    const calls = cloudWatch.commandCalls(GetMetricDataCommand);
    expect(calls).toHaveLength(2);
    expect(regions.sort()).toEqual(['eu-west-1', 'us-east-1']);
    expect(calls.map((c) => c.args[0].input.MetricDataQueries!.length).sort()).toEqual([1, 2]);
  });

  it('reports no datapoint as missing (undefined), never 0', async () => {
    // Prepare
    cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'q0', Timestamps: [], Values: [], StatusCode: 'Complete' }] });
    // Act
    const results = await cloudWatchSource.fetch([metricRequest(0)], ctx);
    // Assess
    expect(results.has('p0/queue')).toBe(true);
    expect(results.get('p0/queue')).toBeUndefined();
  });

  it('gives every request of a call that stays throttled a "throttled:" error', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $retryable: { throttling: true }, $metadata: {} });
    cloudWatch.on(GetMetricDataCommand).rejects(throttled);
    // Act
    const results = await cloudWatchSource.fetch([metricRequest(0), metricRequest(1)], ctx);
    // Assess
    expect(results.get('p0/queue')).toEqual({ error: expect.stringMatching(/^throttled: .*Rate exceeded/) });
    expect(results.get('p1/queue')).toEqual({ error: expect.stringMatching(/^throttled: /) });
  });
});

describe('ElastiCache source (ElastiCache and CloudWatch mocked with aws-sdk-client-mock)', () => {
  let now = 1_700_000_000_000;
  beforeEach(() => setTopologyClock(() => now));
  afterEach(() => setTopologyClock(Date.now));

  const groupMetric = (aggregateHow: string): MetricRequest<ElastiCacheMetric> => ({
    key: `p/${aggregateHow}`,
    metric: ElastiCacheMetric.parse({ id: 'items', source: 'elasticache', replicationGroupId: 'sessions', name: 'CurrItems', aggregate: aggregateHow }),
  });

  function answerPerNode(values: Record<string, number>) {
    cloudWatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
      MetricDataResults: input.MetricDataQueries!.map((q) => {
        const dims = Object.fromEntries(q.MetricStat!.Metric!.Dimensions!.map((d) => [d.Name, d.Value]));
        const value = values[`${dims.CacheClusterId}/${dims.CacheNodeId}`];
        return { Id: q.Id, Timestamps: value === undefined ? [] : [new Date(input.EndTime!.getTime() - 5_000)], Values: value === undefined ? [] : [value] };
      }),
    }));
  }

  it('resolves a replication group to its nodes and aggregates sum, average and max', async () => {
    // Prepare
    elastiCache.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'sessions' }).resolves({
      ReplicationGroups: [{ ReplicationGroupId: 'sessions', NodeGroups: [{ NodeGroupMembers: [{ CacheClusterId: 'sessions-001', CacheNodeId: '0001' }, { CacheClusterId: 'sessions-002', CacheNodeId: '0001' }, { CacheClusterId: 'sessions-003', CacheNodeId: '0001' }] }] }],
    });
    answerPerNode({ 'sessions-001/0001': 10, 'sessions-002/0001': 20, 'sessions-003/0001': 60 });
    // Act
    const results = await elastiCacheSource.fetch([groupMetric('sum'), groupMetric('average'), groupMetric('max')], ctx);
    // Assess
    expect(results.get('p/sum')).toMatchObject({ value: 90 });
    expect(results.get('p/average')).toMatchObject({ value: 30 });
    expect(results.get('p/max')).toMatchObject({ value: 60 });
    const queries = cloudWatch.commandCalls(GetMetricDataCommand).flatMap((c) => c.args[0].input.MetricDataQueries!);
    expect(queries).toHaveLength(9);
    expect(queries[0]!.MetricStat!.Metric).toEqual({ Namespace: 'AWS/ElastiCache', MetricName: 'CurrItems', Dimensions: [{ Name: 'CacheClusterId', Value: 'sessions-001' }, { Name: 'CacheNodeId', Value: '0001' }] });
  });

  it('resolves a cache cluster with ShowCacheNodeInfo and caches the topology for 5 minutes', async () => {
    // Prepare
    elastiCache.on(DescribeCacheClustersCommand).resolves({ CacheClusters: [{ CacheClusterId: 'memc', CacheNodes: [{ CacheNodeId: '0001' }, { CacheNodeId: '0002' }] }] });
    answerPerNode({ 'memc/0001': 4, 'memc/0002': 6 });
    const request: MetricRequest<ElastiCacheMetric> = { key: 'p/conns', metric: ElastiCacheMetric.parse({ id: 'conns', source: 'elasticache', cacheClusterId: 'memc', name: 'CurrConnections' }) };
    // Act
    const first = await elastiCacheSource.fetch([request], ctx);
    now += 4 * 60_000;
    await elastiCacheSource.fetch([request], ctx);
    now += 2 * 60_000;
    await elastiCacheSource.fetch([request], ctx);
    // Assess
    expect(first.get('p/conns')).toMatchObject({ value: 10 });
    const describes = elastiCache.commandCalls(DescribeCacheClustersCommand);
    expect(describes).toHaveLength(2);
    expect(describes[0]!.args[0].input).toEqual({ CacheClusterId: 'memc', ShowCacheNodeInfo: true });
  });

  it('reports missing when no node has a datapoint, and an error naming an unknown group', async () => {
    // Prepare
    elastiCache.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'sessions' }).resolves({ ReplicationGroups: [{ MemberClusters: ['sessions-001'] }] });
    elastiCache.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'gone' }).rejects(Object.assign(new Error('ReplicationGroup gone not found.'), { name: 'ReplicationGroupNotFoundFault' }));
    answerPerNode({});
    const gone = { key: 'p/gone', metric: ElastiCacheMetric.parse({ id: 'items', source: 'elasticache', replicationGroupId: 'gone', name: 'CurrItems' }) };
    // Act
    const results = await elastiCacheSource.fetch([groupMetric('sum'), gone], ctx);
    // Assess
    expect(results.has('p/sum')).toBe(true);
    expect(results.get('p/sum')).toBeUndefined();
    expect(results.get('p/gone')).toEqual({ error: expect.stringContaining('gone not found') });
  });

  it('shares GetMetricData calls with the CloudWatch source when both fetch in one evaluation', async () => {
    // Prepare
    elastiCache.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [{ MemberClusters: ['sessions-001', 'sessions-002'] }] });
    cloudWatch.on(GetMetricDataCommand).callsFake(answerAll);
    // Act
    const [cw, ec] = await Promise.all([cloudWatchSource.fetch([metricRequest(0)], ctx), elastiCacheSource.fetch([groupMetric('sum')], ctx)]);
    // Assess
    const calls = cloudWatch.commandCalls(GetMetricDataCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input.MetricDataQueries).toHaveLength(3);
    expect(cw.get('p0/queue')).toBeDefined();
    expect(ec.get('p/sum')).toBeDefined();
  });

  it('a sum with a silent node is missing (naming the node), while average and max use the nodes that answered', async () => {
    // Prepare
    elastiCache.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'sessions' }).resolves({
      ReplicationGroups: [{ ReplicationGroupId: 'sessions', NodeGroups: [{ NodeGroupMembers: [{ CacheClusterId: 'sessions-001', CacheNodeId: '0001' }, { CacheClusterId: 'sessions-002', CacheNodeId: '0001' }] }] }],
    });
    answerPerNode({ 'sessions-001/0001': 10 });
    // Act
    const results = await elastiCacheSource.fetch([groupMetric('sum'), groupMetric('average'), groupMetric('max')], ctx);
    // Assess
    expect(results.get('p/sum')).toEqual({ error: 'no datapoint from 1 of 2 nodes (sessions-002/0001): a sum without them would understate the total' });
    expect(results.get('p/average')).toMatchObject({ value: 10 });
    expect(results.get('p/max')).toMatchObject({ value: 10 });
  });

  it('aggregate leaves out nodes without data', () => {
    // Prepare / Act / Assess
    expect(aggregate('average', [{ value: 2, timestamp: 1 }, { value: 4, timestamp: 2 }])).toEqual({ value: 3, timestamp: 1 });
    expect(aggregate('max', [])).toBeUndefined();
  });
});
