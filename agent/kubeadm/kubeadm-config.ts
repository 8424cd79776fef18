import { stringify } from 'yaml';
import { compareVersions } from '../step-execution/step-params.ts';
import { kubeadmPaths } from './kubeadm-paths.ts';

export type KubeadmApiVersion = 'kubeadm.k8s.io/v1beta3' | 'kubeadm.k8s.io/v1beta4';

export interface InitConfigInput {
  /** "1.31.4" */
  kubernetesVersion: string;
  /** "VIP:PORT" */
  controlPlaneEndpoint: string;
  advertiseAddress: string;
  nodeName: string;
  podSubnet: string;
  serviceSubnet: string;
  bootstrapToken: string;
  certificateKey: string;
  tokenTtlSeconds: number;
  /** A mirror of registry.k8s.io; kubeadm's default when absent. */
  imageRepository?: string;
  /** The operator's spec.hostPolicy.allowCgroupV1. */
  allowCgroupV1?: boolean;
}

export interface JoinConfigInput {
  kubernetesVersion: string;
  controlPlaneEndpoint: string;
  advertiseAddress: string;
  nodeName: string;
  controlPlane: boolean;
  bootstrapToken: string;
  caCertHashes: string[];
  /** Control planes only. */
  certificateKey?: string;
  allowCgroupV1?: boolean;
}

/** v1beta4 is read by kubeadm 1.31 and newer; v1beta3 by 1.22 up to 1.30 (and still by 1.31+, deprecated). */
export function kubeadmApiVersionFor(kubernetesVersion: string): KubeadmApiVersion {
  return compareVersions(kubernetesVersion, '1.31') >= 0 ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3';
}

/** Go's time.Duration text, which kubeadm's metav1.Duration fields parse: 5400 -> "1h30m0s". */
export function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

/** v1beta3 took extra args as a map; v1beta4 as a list of {name, value} (repeatable flags). */
function extraArgs(apiVersion: KubeadmApiVersion, args: Record<string, string>): unknown {
  if (apiVersion === 'kubeadm.k8s.io/v1beta3') return args;
  return Object.entries(args).map(([name, value]) => ({ name, value }));
}

/**
 * kubeadm reads its config with go-yaml's YAML 1.1 rules, where on/off/yes/no/y/n are booleans: every string is
 * written double-quoted, so a node named `on` stays a name.
 */
export const kubernetesYamlOptions = {
  lineWidth: 0,
  defaultStringType: 'QUOTE_DOUBLE',
  defaultKeyType: 'PLAIN',
} as const;

function documents(docs: unknown[]): string {
  return docs.map((d) => stringify(d, kubernetesYamlOptions)).join('---\n');
}

/** From this minor on the kubelet refuses cgroup v1 (failCgroupV1) and kubeadm's SystemVerification fails on it. */
export const cgroupV1RefusedFromMinor = '1.35';

/** Whether the operator's allowCgroupV1 changes anything for this version: only 1.35 and later refuse cgroup v1. */
export function cgroupV1Overrides(kubernetesVersion: string, allowCgroupV1: boolean | undefined): boolean {
  return allowCgroupV1 === true && compareVersions(kubernetesVersion, cgroupV1RefusedFromMinor) >= 0;
}

function nodeRegistration(apiVersion: KubeadmApiVersion, nodeName: string, nodeIp: string, cgroupV1: boolean) {
  return {
    name: nodeName,
    criSocket: kubeadmPaths.criSocket,
    kubeletExtraArgs: extraArgs(apiVersion, { 'node-ip': nodeIp }),
    ...(cgroupV1 ? { ignorePreflightErrors: ['SystemVerification'] } : {}),
  };
}

/** InitConfiguration + ClusterConfiguration + KubeletConfiguration for `kubeadm init --config F --upload-certs`. */
export function renderInitConfig(input: InitConfigInput): string {
  const apiVersion = kubeadmApiVersionFor(input.kubernetesVersion);
  const cgroupV1 = cgroupV1Overrides(input.kubernetesVersion, input.allowCgroupV1);
  return documents([
    {
      apiVersion,
      kind: 'InitConfiguration',
      bootstrapTokens: [
        {
          token: input.bootstrapToken,
          description: 'kubeha: created by kubeadm init',
          ttl: goDuration(input.tokenTtlSeconds),
          usages: ['signing', 'authentication'],
          groups: ['system:bootstrappers:kubeadm:default-node-token'],
        },
      ],
      certificateKey: input.certificateKey,
      localAPIEndpoint: { advertiseAddress: input.advertiseAddress, bindPort: 6443 },
      nodeRegistration: nodeRegistration(apiVersion, input.nodeName, input.advertiseAddress, cgroupV1),
    },
    {
      apiVersion,
      kind: 'ClusterConfiguration',
      kubernetesVersion: `v${input.kubernetesVersion}`,
      controlPlaneEndpoint: input.controlPlaneEndpoint,
      ...(input.imageRepository ? { imageRepository: input.imageRepository } : {}),
      networking: { podSubnet: input.podSubnet, serviceSubnet: input.serviceSubnet, dnsDomain: 'cluster.local' },
    },
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: 'systemd',
      ...(cgroupV1 ? { failCgroupV1: false } : {}),
    },
  ]);
}

/** JoinConfiguration for `kubeadm join --config F`; with `controlPlane` for a control plane. */
export function renderJoinConfig(input: JoinConfigInput): string {
  const apiVersion = kubeadmApiVersionFor(input.kubernetesVersion);
  const cgroupV1 = cgroupV1Overrides(input.kubernetesVersion, input.allowCgroupV1);
  return documents([
    {
      apiVersion,
      kind: 'JoinConfiguration',
      discovery: {
        bootstrapToken: {
          apiServerEndpoint: input.controlPlaneEndpoint,
          token: input.bootstrapToken,
          caCertHashes: input.caCertHashes,
        },
      },
      nodeRegistration: nodeRegistration(apiVersion, input.nodeName, input.advertiseAddress, cgroupV1),
      ...(input.controlPlane
        ? {
            controlPlane: {
              localAPIEndpoint: { advertiseAddress: input.advertiseAddress, bindPort: 6443 },
              certificateKey: input.certificateKey,
            },
          }
        : {}),
    },
  ]);
}

export interface TokenConfigInput {
  apiVersion: KubeadmApiVersion;
  token: string;
  ttlSeconds: number;
  description: string;
}

/** An InitConfiguration with one bootstrap token, for `kubeadm token create --config F` (no token in argv). */
export function renderTokenCreateConfig(input: TokenConfigInput): string {
  return documents([
    {
      apiVersion: input.apiVersion,
      kind: 'InitConfiguration',
      bootstrapTokens: [
        {
          token: input.token,
          description: input.description,
          ttl: goDuration(input.ttlSeconds),
          usages: ['signing', 'authentication'],
          groups: ['system:bootstrappers:kubeadm:default-node-token'],
        },
      ],
    },
  ]);
}

/** An InitConfiguration with the certificate key, for `kubeadm init phase upload-certs --upload-certs --config F`. */
export function renderUploadCertsConfig(apiVersion: KubeadmApiVersion, certificateKey: string): string {
  return documents([{ apiVersion, kind: 'InitConfiguration', certificateKey }]);
}
