/**
 * DescribeReplicationGroups answers in the shape the ElastiCache API returns them (the
 * ReplicationGroup / NodeGroup / NodeGroupMember structures of the AWS SDK v3 model,
 * aws/aws-sdk-js-v3 clients/client-elasticache/src/models/models_0.ts, installed as node_modules/@aws-sdk/client-elasticache/dist-types/models/models_0.d.ts, and the API reference's
 * DescribeReplicationGroups examples). Two facts the code depends on, from the same model:
 * - NodeGroupMember.CurrentRole ("primary" | "replica") "is only applicable for ... (cluster mode
 *   disabled) replication groups": cluster-mode-enabled groups list members without a role.
 * - A cluster-mode-disabled group has one node group, "0001"; a cluster-mode-enabled group one per
 *   shard ("0001", "0002", …, each with its Slots), its member clusters named <group>-<shard>-<nnn>.
 */
import type { ReplicationGroup } from '@aws-sdk/client-elasticache';

const endpoint = (host: string) => ({ Address: `${host}.abc123.euw1.cache.amazonaws.com`, Port: 6379 });

/** Cluster mode disabled: one primary and `replicas` replicas, roles given. */
export function clusterModeDisabledGroup(id: string, replicas: number): ReplicationGroup {
  const members = Array.from({ length: replicas + 1 }, (_, i) => `${id}-00${i + 1}`);
  return {
    ReplicationGroupId: id,
    Description: 'sessions',
    Status: 'available',
    ClusterEnabled: false,
    MemberClusters: members,
    NodeGroups: [
      {
        NodeGroupId: '0001',
        Status: 'available',
        PrimaryEndpoint: endpoint(`${id}.ng`),
        ReaderEndpoint: endpoint(`${id}-ro.ng`),
        NodeGroupMembers: members.map((cluster, i) => ({
          CacheClusterId: cluster,
          CacheNodeId: '0001',
          ReadEndpoint: endpoint(cluster),
          PreferredAvailabilityZone: `eu-west-1${'abc'[i % 3]}`,
          CurrentRole: i === 0 ? 'primary' : 'replica',
        })),
      },
    ],
    AutomaticFailover: replicas > 0 ? 'enabled' : 'disabled',
    CacheNodeType: 'cache.r7g.large',
  };
}

/** Cluster mode enabled: `shards` node groups of one primary and `replicas` replicas, no roles. */
export function clusterModeEnabledGroup(id: string, shards: number, replicas: number): ReplicationGroup {
  const nodeGroups = Array.from({ length: shards }, (_, s) => {
    const shard = String(s + 1).padStart(4, '0');
    return {
      NodeGroupId: shard,
      Status: 'available',
      Slots: `${Math.floor((16384 / shards) * s)}-${Math.floor((16384 / shards) * (s + 1)) - 1}`,
      NodeGroupMembers: Array.from({ length: replicas + 1 }, (_, r) => ({
        CacheClusterId: `${id}-${shard}-00${r + 1}`,
        CacheNodeId: '0001',
        PreferredAvailabilityZone: `eu-west-1${'abc'[r % 3]}`,
      })),
    };
  });
  return {
    ReplicationGroupId: id,
    Description: 'carts',
    Status: 'available',
    ClusterEnabled: true,
    ConfigurationEndpoint: endpoint(`clustercfg.${id}`),
    MemberClusters: nodeGroups.flatMap((g) => g.NodeGroupMembers.map((m) => m.CacheClusterId)),
    NodeGroups: nodeGroups,
    AutomaticFailover: 'enabled',
    CacheNodeType: 'cache.r7g.large',
  };
}
