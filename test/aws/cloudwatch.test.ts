import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { DescribeCacheClustersCommand, DescribeReplicationGroupsCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { cloudWatchSource, toCloudWatchRequest } from '../../shared/plugins/metrics/cloudwatch/source.ts';
import { fetchCloudWatch, maxSplitCalls, queriesFor, windowOf, type CloudWatchRequest } from '../../shared/aws/cloudwatch-batch.ts';
import { aggregate, clearTopologyCache, elastiCacheSource, nodesSetting, setTopologyClock } from '../../shared/plugins/metrics/elasticache/source.ts';
import type { MetricRequest, PluginContext } from '../../shared/plugins/types.ts';
import { cloudWatchLike, ValidationError } from './cloudwatch-like.ts';
import { clusterModeDisabledGroup, clusterModeEnabledGroup } from './elasticache-fixtures.ts';
import { CloudWatchExpression, CloudWatchMetric, ElastiCacheMetric } from '../../shared/policy/schema.ts';

const cloudWatch = mockClient(CloudWatchClient);
const elastiCache = mockClient(ElastiCacheClient);
const ctx: PluginContext = { endpoints: noEndpoints, signal: new AbortController().signal };

function metricRequest(i: number, extra: Record<string, unknown> = {}): MetricRequest<CloudWatchMetric> {
  const metric = CloudWatchMetric.parse({ id: 'queue', source: 'cloudwatch', namespace: 'App', name: 'Depth', dimensions: { Queue: `q${i}` }, ...extra });
  return { key: `p${i}/queue`, metric };
}

/**
 * Answers every query with one datapoint whose value is its query's position, stamped as CloudWatch
 * stamps it: with the start of its period, here the last whole period before EndTime.
 */
function answerAll(input: GetMetricDataCommandInput) {
  const period = input.MetricDataQueries![0]!.MetricStat?.Period ?? input.MetricDataQueries![0]!.Period ?? 60;
  const at = new Date(input.EndTime!.getTime() - period * 1000);
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

  it('builds the exact request: metric stat, period, whole periods ending at the last period boundary, newest first', async () => {
    // Prepare
    cloudWatch.on(GetMetricDataCommand).callsFake(answerAll);
    const before = Date.now();
    // Act
    await cloudWatchSource.fetch([metricRequest(1, { stat: 'p90', period: 300 })], ctx);
    // Assess
    const after = Date.now();
    const input = cloudWatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input.ScanBy).toBe('TimestampDescending');
    expect(input.MetricDataQueries).toEqual([
      { Id: 'q0', ReturnData: true, MetricStat: { Metric: { Namespace: 'App', MetricName: 'Depth', Dimensions: [{ Name: 'Queue', Value: 'q1' }] }, Period: 300, Stat: 'p90' } },
    ]);
    const end = input.EndTime!.getTime();
    expect(end % 300_000).toBe(0);
    expect(end).toBeGreaterThan(before - 300_000);
    expect(end).toBeLessThanOrEqual(after);
    expect(end - input.StartTime!.getTime()).toBe(1500 * 1000);
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
    // Prepare: 12:00:20; the window is [11:55, 12:00), datapoints stamped with their minute's start
    const now = Date.UTC(2026, 11, 1, 12, 0, 20);
    const minute = (m: number) => new Date(Date.UTC(2026, 11, 1, 11, m));
    cloudWatch
      .on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', Timestamps: [minute(57)], Values: [5] }], NextToken: 'page-2' })
      .resolvesOnce({ MetricDataResults: [{ Id: 'q0', Timestamps: [minute(59)], Values: [7] }, { Id: 'q1', Timestamps: [minute(56)], Values: [3] }] });
    // Act
    const results = await fetchCloudWatch([toCloudWatchRequest(metricRequest(0)), toCloudWatchRequest(metricRequest(1))], { now: () => now });
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

describe('CloudWatch windows, read against a responder that answers as CloudWatch does (test/aws/cloudwatch-like.ts)', () => {
  // 12:00:20 UTC: 20 seconds into the current minute.
  const at = (h: number, m: number, sec = 0) => Date.UTC(2026, 11, 1, h, m, sec);
  const now = at(12, 0, 20);
  const sumOf = (name: string, extra: Record<string, unknown> = {}) => toCloudWatchRequest({ key: `p/${name}`, metric: CloudWatchMetric.parse({ id: 'm', source: 'cloudwatch', namespace: 'App', name, stat: 'Sum', ...extra }) });

  it('regression: reads the last complete period, not the one still filling (a Sum over 20 of 60 s read as a drop in load)', async () => {
    // Prepare: a steady 10 jobs/s; CloudWatch returns the 12:00 period with 20 s in it when asked for it
    cloudWatch.on(GetMetricDataCommand).callsFake(cloudWatchLike({ now: () => now, ratePerSecond: { Jobs: 10 } }));
    // Act
    const results = await fetchCloudWatch([sumOf('Jobs')], { now: () => now });
    // Assess
    expect(results.get('p/Jobs')).toEqual({ value: 600, timestamp: at(11, 59) });
    const input = cloudWatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input.EndTime).toEqual(new Date(at(12, 0)));
    expect(input.StartTime).toEqual(new Date(at(11, 55)));
  });

  it('windowOf: EndTime on the last period boundary at least delaySeconds ago, whole periods back', () => {
    // Prepare / Act / Assess
    expect(windowOf({ period: 300, lookbackSeconds: 900 }, at(12, 7, 30))).toEqual({ start: at(11, 50), end: at(12, 5) });
    expect(windowOf({ period: 60, lookbackSeconds: 90 }, now)).toEqual({ start: at(11, 58), end: at(12, 0) });
    expect(windowOf({ period: 10, lookbackSeconds: 5 }, now)).toEqual({ start: at(12, 0, 10), end: at(12, 0, 20) });
    expect(windowOf({ period: 60, lookbackSeconds: 300, delaySeconds: 90 }, now)).toEqual({ start: at(11, 53), end: at(11, 58) });
  });

  it('delaySeconds: a metric published 90 s late is read from the last period whose datapoints have all arrived', async () => {
    // Prepare: samples reach CloudWatch 90 s after they are taken
    cloudWatch.on(GetMetricDataCommand).callsFake(cloudWatchLike({ now: () => now, ratePerSecond: { Jobs: 10 }, publishDelaySeconds: 90 }));
    // Act
    const undelayed = await fetchCloudWatch([sumOf('Jobs')], { now: () => now });
    const delayed = await fetchCloudWatch([sumOf('Jobs', { delaySeconds: 90 })], { now: () => now });
    // Assess: without the delay the 11:58 period holds 50 of its 60 s (11:59 has nothing yet)
    expect(undelayed.get('p/Jobs')).toEqual({ value: 500, timestamp: at(11, 58) });
    expect(delayed.get('p/Jobs')).toEqual({ value: 600, timestamp: at(11, 57) });
  });

  it('batches by window: a day-long lookback does not share a call (and its StartTime) with 5-minute ones', async () => {
    // Prepare
    cloudWatch.on(GetMetricDataCommand).callsFake(cloudWatchLike({ now: () => now, ratePerSecond: { Jobs: 10, Day: 1 } }));
    const requests = [sumOf('Jobs'), sumOf('Jobs', { dimensions: { Queue: 'b' } }), sumOf('Day', { lookbackSeconds: 86_400 }), sumOf('Jobs', { period: 300 })];
    // Act
    const results = await fetchCloudWatch(requests, { now: () => now });
    // Assess
    const windows = cloudWatch.commandCalls(GetMetricDataCommand).map((c) => [c.args[0].input.MetricDataQueries!.length, (c.args[0].input.EndTime!.getTime() - c.args[0].input.StartTime!.getTime()) / 1000]);
    expect(windows.sort((a, b) => a[1]! - b[1]!)).toEqual([[2, 300], [1, 1500], [1, 86_400]]);
    expect(results.get('p/Day')).toEqual({ value: 60, timestamp: at(11, 59) });
    expect([...results.values()].every((r) => r !== undefined && 'value' in r)).toBe(true);
  });

  it('one expression CloudWatch rejects (ValidationError fails the whole call) fails only its own request: the call is split', async () => {
    // Prepare: 9 good metrics and one expression naming an id it does not define (stored before validation existed)
    cloudWatch.on(GetMetricDataCommand).callsFake(cloudWatchLike({ now: () => now, ratePerSecond: { Jobs: 10 } }));
    const good = Array.from({ length: 9 }, (_, i) => sumOf('Jobs', { dimensions: { Queue: `q${i}` } })).map((r, i) => ({ ...r, key: `p${i}/jobs` }));
    const bad: CloudWatchRequest = { key: 'bad/ratio', region: undefined, period: 60, lookbackSeconds: 300, expression: { text: 'm1 + m9', using: { m1: { namespace: 'App', name: 'Jobs', dimensions: {}, stat: 'Sum' } } } };
    // Act
    const results = await fetchCloudWatch([...good.slice(0, 4), bad, ...good.slice(4)], { now: () => now });
    // Assess
    expect(results.get('bad/ratio')).toEqual({ error: expect.stringMatching(/GetMetricData failed: Error in expression q0: Unrecognized identifier m9$/) });
    for (let i = 0; i < 9; i++) expect(results.get(`p${i}/jobs`)).toEqual({ value: 600, timestamp: at(11, 59) });
  });

  it('a rejection every request shares is not split without end: at most maxSplitCalls extra calls, every request gets the error', async () => {
    // Prepare: CloudWatch rejects every call (e.g. a window it does not accept)
    cloudWatch.on(GetMetricDataCommand).rejects(new ValidationError('The parameter StartTime must be less than the parameter EndTime.'));
    const requests = Array.from({ length: 500 }, (_, i) => ({ ...sumOf('Jobs', { dimensions: { Queue: `q${i}` } }), key: `p${i}/jobs` }));
    // Act
    const results = await fetchCloudWatch(requests, { now: () => now });
    // Assess
    expect(cloudWatch.commandCalls(GetMetricDataCommand).length).toBeLessThanOrEqual(1 + maxSplitCalls);
    expect(results.size).toBe(500);
    for (const result of results.values()) expect(result).toEqual({ error: 'GetMetricData failed: The parameter StartTime must be less than the parameter EndTime.' });
  });

  it('validation rejects an expression naming an id its using does not define, naming the field and the id', () => {
    // Prepare
    const input = { id: 'ratio', source: 'cloudwatch', expression: `FILL(m1, 0) / m2 + LEN(INSIGHT_RULE_METRIC('m3 rule', "m4"))`, using: { m1: { namespace: 'App', name: 'Busy' } } };
    // Act
    const parsed = CloudWatchExpression.safeParse(input);
    // Assess
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues).toEqual([expect.objectContaining({ path: ['expression'], message: 'refers to "m2", not in using (m1); an expression may use only the ids its using defines' })]);
    expect(CloudWatchExpression.safeParse({ ...input, using: { ...input.using, m2: { namespace: 'App', name: 'Total' } } }).success).toBe(true);
  });
});

describe('ElastiCache source (ElastiCache and CloudWatch mocked with aws-sdk-client-mock, DescribeReplicationGroups in the API\'s shape: test/aws/elasticache-fixtures.ts)', () => {
  let now = 1_700_000_000_000;
  beforeEach(() => setTopologyClock(() => now));
  afterEach(() => setTopologyClock(Date.now));

  const groupMetric = (aggregateHow: string, extra: Record<string, unknown> = {}, group = 'sessions'): MetricRequest<ElastiCacheMetric> => ({
    key: `p/${aggregateHow}${extra.nodes ? `-${String(extra.nodes)}` : ''}${extra.name ? `-${String(extra.name)}` : ''}`,
    metric: ElastiCacheMetric.parse({ id: 'items', source: 'elasticache', replicationGroupId: group, name: 'CurrItems', aggregate: aggregateHow, ...extra }),
  });

  function answerPerNode(values: Record<string, number>) {
    cloudWatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => ({
      MetricDataResults: input.MetricDataQueries!.map((q) => {
        const dims = Object.fromEntries(q.MetricStat!.Metric!.Dimensions!.map((d) => [d.Name, d.Value]));
        const value = values[`${dims.CacheClusterId}/${dims.CacheNodeId}`];
        return { Id: q.Id, Timestamps: value === undefined ? [] : [new Date(input.EndTime!.getTime() - q.MetricStat!.Period! * 1000)], Values: value === undefined ? [] : [value] };
      }),
    }));
  }

  it('regression: CurrItems of a group with 2 replicas is the primary\'s, not 3 times it (cluster mode disabled, CurrentRole)', async () => {
    // Prepare: every node reports the same 1,000 items (replicas hold copies)
    elastiCache.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'sessions' }).resolves({ ReplicationGroups: [clusterModeDisabledGroup('sessions', 2)] });
    answerPerNode({ 'sessions-001/0001': 1000, 'sessions-002/0001': 1000, 'sessions-003/0001': 998 });
    // Act
    const results = await elastiCacheSource.fetch([groupMetric('sum'), groupMetric('sum', { nodes: 'all' })], ctx);
    // Assess
    expect(results.get('p/sum')).toMatchObject({ value: 1000 });
    expect(results.get('p/sum-all')).toMatchObject({ value: 2998 });
    const queried = cloudWatch.commandCalls(GetMetricDataCommand).flatMap((c) => c.args[0].input.MetricDataQueries!).map((q) => q.MetricStat!.Metric!.Dimensions![0]!.Value);
    expect(queried.filter((c) => c === 'sessions-002')).toHaveLength(1);
  });

  it('regression: a cluster-mode-enabled group (no roles) counts each shard once, by its largest copy', async () => {
    // Prepare: 2 shards x (primary + replica); shard 2's replica lags by 2 items
    elastiCache.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'carts' }).resolves({ ReplicationGroups: [clusterModeEnabledGroup('carts', 2, 1)] });
    answerPerNode({ 'carts-0001-001/0001': 500, 'carts-0001-002/0001': 500, 'carts-0002-001/0001': 700, 'carts-0002-002/0001': 698 });
    // Act
    const results = await elastiCacheSource.fetch([groupMetric('sum', {}, 'carts'), groupMetric('max', {}, 'carts'), groupMetric('sum', { name: 'CurrConnections' }, 'carts')], ctx);
    // Assess: items 500 + 700; connections (default nodes: all) on every node
    expect(results.get('p/sum')).toMatchObject({ value: 1200 });
    expect(results.get('p/max')).toMatchObject({ value: 700 });
    expect(results.get('p/sum-CurrConnections')).toMatchObject({ value: 2398 });
  });

  it('nodes defaults: primaries for keyspace metrics, all for the others', () => {
    // Prepare / Act / Assess
    expect(nodesSetting(groupMetric('sum').metric)).toBe('primaries');
    expect(nodesSetting(groupMetric('sum', { name: 'BytesUsedForCache' }).metric)).toBe('primaries');
    expect(nodesSetting(groupMetric('sum', { name: 'EngineCPUUtilization' }).metric)).toBe('all');
    expect(nodesSetting(groupMetric('sum', { name: 'CurrItems', nodes: 'all' }).metric)).toBe('all');
  });

  it('rejects an ElastiCache Serverless cache at validation, saying what to use instead', () => {
    // Prepare / Act
    const parsed = ElastiCacheMetric.safeParse({ id: 'items', source: 'elasticache', serverlessCacheName: 'orders', name: 'CurrItems' });
    // Assess
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]).toMatchObject({ path: ['serverlessCacheName'], message: expect.stringContaining('read them with source "cloudwatch", namespace "AWS/ElastiCache", dimensions { clusterId: <cache name> }') });
  });

  it('a Serverless cache named as a replication group: the not-found error says how to read it', async () => {
    // Prepare: the fault DescribeReplicationGroups returns for an unknown id (SDK model: ReplicationGroupNotFoundFault)
    elastiCache.on(DescribeReplicationGroupsCommand).rejects(Object.assign(new Error('ReplicationGroup orders not found.'), { name: 'ReplicationGroupNotFoundFault' }));
    answerPerNode({});
    // Act
    const results = await elastiCacheSource.fetch([groupMetric('sum', {}, 'orders')], ctx);
    // Assess
    expect(results.get('p/sum')).toEqual({ error: 'ElastiCache topology: ReplicationGroup orders not found. (an ElastiCache Serverless cache is not a replication group: read it with source "cloudwatch", dimensions { clusterId: "orders" })' });
  });

  it('resolves a cache cluster with ShowCacheNodeInfo and caches the topology for 5 minutes', async () => {
    // Prepare
    elastiCache.on(DescribeCacheClustersCommand).resolves({ CacheClusters: [{ CacheClusterId: 'memc', Engine: 'memcached', CacheNodes: [{ CacheNodeId: '0001' }, { CacheNodeId: '0002' }] }] });
    answerPerNode({ 'memc/0001': 4, 'memc/0002': 6 });
    const request: MetricRequest<ElastiCacheMetric> = { key: 'p/conns', metric: ElastiCacheMetric.parse({ id: 'conns', source: 'elasticache', cacheClusterId: 'memc', name: 'CurrItems' }) };
    // Act
    const first = await elastiCacheSource.fetch([request], ctx);
    now += 4 * 60_000;
    await elastiCacheSource.fetch([request], ctx);
    now += 2 * 60_000;
    await elastiCacheSource.fetch([request], ctx);
    // Assess: a Memcached cluster's nodes each hold their own keys, so CurrItems sums them
    expect(first.get('p/conns')).toMatchObject({ value: 10 });
    const describes = elastiCache.commandCalls(DescribeCacheClustersCommand);
    expect(describes).toHaveLength(2);
    expect(describes[0]!.args[0].input).toEqual({ CacheClusterId: 'memc', ShowCacheNodeInfo: true });
  });

  it('reports missing when no node has a datapoint, and an error naming an unknown group', async () => {
    // Prepare
    elastiCache.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'sessions' }).resolves({ ReplicationGroups: [clusterModeDisabledGroup('sessions', 1)] });
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
    elastiCache.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [clusterModeDisabledGroup('sessions', 1)] });
    cloudWatch.on(GetMetricDataCommand).callsFake(answerAll);
    // Act
    const [cw, ec] = await Promise.all([cloudWatchSource.fetch([metricRequest(0)], ctx), elastiCacheSource.fetch([groupMetric('sum', { nodes: 'all' })], ctx)]);
    // Assess
    const calls = cloudWatch.commandCalls(GetMetricDataCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input.MetricDataQueries).toHaveLength(3);
    expect(cw.get('p0/queue')).toBeDefined();
    expect(ec.get('p/sum-all')).toBeDefined();
  });

  it('a sum with a silent shard is missing (naming its nodes), while average and max use the shards that answered', async () => {
    // Prepare
    elastiCache.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: 'carts' }).resolves({ ReplicationGroups: [clusterModeEnabledGroup('carts', 2, 1)] });
    answerPerNode({ 'carts-0001-001/0001': 10 });
    // Act
    const results = await elastiCacheSource.fetch([groupMetric('sum', {}, 'carts'), groupMetric('average', {}, 'carts'), groupMetric('max', {}, 'carts')], ctx);
    // Assess
    expect(results.get('p/sum')).toEqual({ error: 'no datapoint from 1 of 2 shards (carts-0002-001/0001 | carts-0002-002/0001): a sum without them would understate the total' });
    expect(results.get('p/average')).toMatchObject({ value: 10 });
    expect(results.get('p/max')).toMatchObject({ value: 10 });
  });

  it('aggregate leaves out nodes without data', () => {
    // Prepare / Act / Assess
    expect(aggregate('average', [{ value: 2, timestamp: 1 }, { value: 4, timestamp: 2 }])).toEqual({ value: 3, timestamp: 1 });
    expect(aggregate('max', [])).toBeUndefined();
  });
});
