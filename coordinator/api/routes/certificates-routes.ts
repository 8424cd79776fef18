import Type, { type Static } from 'typebox';
import { ErrorCode, KubehaError } from '../../../common/errors.ts';
import type { CertificateInventories } from '../../certificates/certificate-inventories.ts';
import { AgentsByAddress } from '../../scheduler/agent-for-node.ts';
import type { Store } from '../../store/store.ts';
import type { ApiPlugin } from '../build-api.ts';
import { clientErrorReplies } from '../error-reply.ts';

const CertificateReply = Type.Object({
  node: Type.String({ description: "The spec's node name" }),
  agentId: Type.String(),
  name: Type.String({ description: 'apiserver, etcd/peer, admin.conf, kubelet-client-current, ...' }),
  file: Type.String(),
  kubeconfigUser: Type.Union([Type.String(), Type.Null()], {
    description: 'The kubeconfig user whose client-certificate-data it is; null for certificate files',
  }),
  subject: Type.String(),
  issuer: Type.String(),
  sans: Type.Array(Type.String()),
  notBefore: Type.String({ format: 'date-time' }),
  notAfter: Type.String({ format: 'date-time' }),
  secondsLeft: Type.Integer({ description: 'Negative once expired' }),
  isCa: Type.Boolean(),
  level: Type.Union([Type.Literal('ok'), Type.Literal('warning'), Type.Literal('critical'), Type.Literal('expired')], {
    description: "Against the coordinator's certificates.warningDays and criticalDays",
  }),
  reportedAt: Type.String({ format: 'date-time', description: 'When the coordinator received the agent’s report' }),
});

const CertificatesReply = Type.Object(
  {
    cluster: Type.String(),
    certificates: Type.Array(CertificateReply, {
      description: 'Every node’s certificates, the soonest to expire first',
    }),
    nodesWithoutReport: Type.Array(Type.String(), {
      description: 'Nodes whose agent has not reported its certificates since the coordinator started',
    }),
  },
  { $id: 'ClusterCertificates' },
);

export type ClusterCertificates = Static<typeof CertificatesReply>;

const NameParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' }) });

/** GET /v1/clusters/:name/certificates: what the nodes' agents last reported, sorted by time left. */
export function certificatesRoutes(deps: {
  store: Store;
  certificates: CertificateInventories;
  now: () => number;
}): ApiPlugin {
  return (app) => {
    app.get(
      '/v1/clusters/:name/certificates',
      {
        schema: {
          summary: "Every node's certificates (kubeadm's PKI, kubeconfigs, the kubelet's), the soonest to expire first",
          params: NameParams,
          response: { 200: CertificatesReply, ...clientErrorReplies },
        },
      },
      async (request) => {
        const cluster = deps.store.clusters.get(request.params.name);
        if (!cluster) throw new KubehaError(ErrorCode.notFound, `no cluster ${request.params.name}`);
        const index = new AgentsByAddress(deps.store.agents.list());
        const now = deps.now();
        const certificates: ClusterCertificates['certificates'] = [];
        const nodesWithoutReport: string[] = [];
        for (const node of cluster.spec.spec.nodes) {
          const boundId = deps.store.bindings.bound(cluster.name, node.name);
          const agentId = boundId ?? index.get(node.address)?.id;
          const held = agentId === undefined ? [] : deps.certificates.of(agentId);
          if (agentId === undefined || held.length === 0) {
            nodesWithoutReport.push(node.name);
            continue;
          }
          for (const c of held) {
            certificates.push({
              node: node.name,
              agentId,
              name: c.name,
              file: c.file,
              kubeconfigUser: c.kubeconfigUser || null,
              subject: c.subject,
              issuer: c.issuer,
              sans: c.sans,
              notBefore: new Date(c.notBeforeMs).toISOString(),
              notAfter: new Date(c.notAfterMs).toISOString(),
              secondsLeft: Math.floor((c.notAfterMs - now) / 1000),
              isCa: c.isCa,
              level: deps.certificates.levelOf(c),
              reportedAt: new Date(c.receivedAtMs).toISOString(),
            });
          }
        }
        certificates.sort(
          (a, b) => a.secondsLeft - b.secondsLeft || a.node.localeCompare(b.node) || a.name.localeCompare(b.name),
        );
        return { cluster: cluster.name, certificates, nodesWithoutReport };
      },
    );
  };
}
