import type { NodeBindingStore } from '../store.ts';
import type { SqlAccess } from './sql-access.ts';

/** Tables token_scopes, node_approvals and node_bindings: who may serve, and who serves, which node. */
export function bindingsTable(sql: SqlAccess): NodeBindingStore {
  return {
    setTokenScope: (tokenId, node) => {
      sql.statement('INSERT OR REPLACE INTO token_scopes (token_id, node) VALUES (?, ?)').run(tokenId, node);
    },
    tokenScope: (tokenId) =>
      (sql.statement('SELECT node FROM token_scopes WHERE token_id = ?').get(tokenId) as { node: string } | undefined)
        ?.node,
    approve: (agentId, node, now) => {
      sql
        .statement('INSERT OR IGNORE INTO node_approvals (agent_id, node, approved_at) VALUES (?, ?, ?)')
        .run(agentId, node, now);
    },
    approvedFor: (node) =>
      (
        sql.statement('SELECT agent_id FROM node_approvals WHERE node = ? ORDER BY approved_at').all(node) as {
          agent_id: string;
        }[]
      ).map((r) => r.agent_id),
    bound: (cluster, node) =>
      (
        sql.statement('SELECT agent_id FROM node_bindings WHERE cluster = ? AND node = ?').get(cluster, node) as
          | { agent_id: string }
          | undefined
      )?.agent_id,
    bind: (cluster, node, agentId, now) => {
      sql
        .statement('INSERT INTO node_bindings (cluster, node, agent_id, bound_at) VALUES (?, ?, ?, ?)')
        .run(cluster, node, agentId, now);
    },
    list: (cluster) =>
      (
        sql
          .statement('SELECT node, agent_id, bound_at FROM node_bindings WHERE cluster = ? ORDER BY node')
          .all(cluster) as { node: string; agent_id: string; bound_at: number }[]
      ).map((r) => ({ node: r.node, agentId: r.agent_id, boundAt: r.bound_at })),
    unbind: (cluster, node) => {
      sql.statement('DELETE FROM node_bindings WHERE cluster = ? AND node = ?').run(cluster, node);
    },
    removeAgent: (agentId) => {
      sql.transaction(() => {
        sql.statement('DELETE FROM node_approvals WHERE agent_id = ?').run(agentId);
        sql.statement('DELETE FROM node_bindings WHERE agent_id = ?').run(agentId);
      });
    },
  };
}
