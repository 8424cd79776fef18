import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { type VerifyParams, VerifyParamsSchema } from '../../proto/step-params/verify-params.ts';
import type { Host } from '../host/host.ts';
import { getReadyz } from '../kubeadm/apiserver-readyz.ts';
import {
  adminKubeconfig,
  buildClusterHealthReport,
  type ClusterObservations,
} from '../kubeadm/cluster-health-report.ts';
import { etcdContainerId, etcdctl, healthOfMembers, parseMemberList, statusOfMembers } from '../kubeadm/etcdctl.ts';
import { kubeadmPaths } from '../kubeadm/kubeadm-paths.ts';
import { endpointProblem } from '../kubeadm/kubeadm-patterns.ts';
import { kubectlJson } from '../kubeadm/kubectl.ts';
import { probePodNetwork } from '../kubeadm/pod-network-probe.ts';
import { plannedStep, type StepContext } from '../step-execution/step.ts';
import { isIpAddress, parseStepParams } from '../step-execution/step-params.ts';

function parseParams(raw: unknown): VerifyParams {
  return parseStepParams('verify', VerifyParamsSchema, raw, (p) => {
    const problems: string[] = [];
    const endpoint = endpointProblem(p.controlPlaneEndpoint);
    if (endpoint) problems.push(`controlPlaneEndpoint: ${endpoint}`);
    p.nodes.forEach((n, i) => {
      if (!isIpAddress(n.address)) problems.push(`nodes[${i}].address: not an IP address`);
    });
    if (p.nodeName !== undefined && !p.nodes.some((n) => n.name === p.nodeName && n.role === 'control-plane')) {
      problems.push('nodeName: not a control plane in nodes');
    }
    return problems;
  });
}

const kubeconfigFiles = [
  adminKubeconfig,
  kubeadmPaths.kubeletConf,
  kubeadmPaths.controllerManagerConf,
  kubeadmPaths.schedulerConf,
];

async function attempt<T>(read: () => Promise<T>): Promise<T | Error> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof Error) return error;
    return new Error(String(error));
  }
}

async function readEtcd(host: Host): Promise<Exclude<ClusterObservations['etcd'], Error>> {
  const container = await etcdContainerId(host);
  const members = parseMemberList((await etcdctl(host, container, ['member', 'list', '-w', 'json'])).stdout);
  const [health, status] = await Promise.all([
    healthOfMembers(host, container, members),
    statusOfMembers(host, container, members),
  ]);
  return { members, health, status };
}

async function readyz(host: Host, endpoint: string): Promise<{ httpStatus: number; body: string }> {
  const { httpStatus, body } = await getReadyz(host, endpoint, true);
  return { httpStatus, body };
}

/** The spec's kubelet nodes that the node list shows Ready: the ones a probe pod can run on. */
function readyKubeletNodes(nodeList: unknown, specNodes: VerifyParams['nodes']): string[] {
  const items = (nodeList as { items?: NodeReadiness[] } | undefined)?.items ?? [];
  return specNodes
    .filter((n) => n.role !== 'load-balancer')
    .map((n) => n.name)
    .filter((name) =>
      items.some(
        (i) =>
          i.metadata?.name === name && i.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ),
    );
}

interface NodeReadiness {
  metadata?: { name?: string };
  status?: { conditions?: { type?: string; status?: string }[] };
}

async function observePodNetwork(
  ctx: StepContext<VerifyParams>,
  nodeList: unknown,
): Promise<ClusterObservations['podNetwork']> {
  const image = ctx.params.podProbeImage;
  if (!image) return { skipped: 'no probe image was given (the cluster spec turns the check off)' };
  if (nodeList instanceof Error) return { skipped: 'the node list could not be read' };
  return attempt(() => probePodNetwork(ctx.host, readyKubeletNodes(nodeList, ctx.params.nodes), image, ctx.log));
}

async function observe(ctx: StepContext<VerifyParams>): Promise<ClusterObservations> {
  const { host, params } = ctx;
  const hostname = (await host.facts()).hostname.toLowerCase();
  const name = params.nodeName ?? hostname.split('.')[0];
  const checkedOn = params.nodes.find((n) => n.name === name && n.role === 'control-plane');
  if (!checkedOn) {
    throw new KubehaError(ErrorCode.stepRefused, `verify runs on a control plane; ${name} is not one in the spec`);
  }
  const kubeconfigs: Record<string, string | undefined> = {};
  for (const file of kubeconfigFiles) kubeconfigs[file] = await host.readFile(file);
  const nodeList = await attempt(() => kubectlJson(host, ['get', 'nodes']));
  return {
    endpoint: params.controlPlaneEndpoint,
    checkedOn,
    specNodes: params.nodes,
    nodeList,
    controlPlanePods: await attempt(() =>
      kubectlJson(host, ['-n', 'kube-system', 'get', 'pods', '-l', 'tier=control-plane']),
    ),
    etcd: await attempt(() => readEtcd(host)),
    leases: await attempt(() =>
      kubectlJson(host, ['-n', 'kube-system', 'get', 'lease', 'kube-controller-manager', 'kube-scheduler']),
    ),
    readyz: await attempt(() => readyz(host, params.controlPlaneEndpoint)),
    kubeconfigs,
    podNetwork: await observePodNetwork(ctx, nodeList),
  };
}

/**
 * Checks the whole cluster from one control plane and outputs a structured report as JSON in "report": nodes Ready,
 * control-plane pods Running everywhere, etcd (a voting, healthy member per control plane, one leader), the
 * controller-manager and scheduler lease holders, /readyz through the endpoint, this node's kubeconfigs, and pod
 * traffic between nodes (short-lived probe pods, deleted again). Fails, with the report, when anything is wrong.
 */
export const verifyStep = plannedStep<VerifyParams>({
  kind: 'verify',
  parseParams,
  plan: async () => [],
  async verify(ctx) {
    const report = buildClusterHealthReport(await observe(ctx));
    ctx.output('report', JSON.stringify(report));
    for (const problem of report.problems) ctx.log(`problem: ${problem}`);
    if (!report.ok) {
      // A node of the spec that the API server does not list has not joined: waiting for another attempt cannot
      // change that, unlike a node that is not Ready yet.
      throw new KubehaError(
        report.nodes.some((n) => !n.inCluster) ? ErrorCode.stepRefused : ErrorCode.stepFailed,
        `the cluster is not healthy: ${report.problems.join('; ')}`,
        { details: report },
      );
    }
  },
});
