import Type from 'typebox';

/** The shapes of the values step parameters carry: checked by the agent before any reaches a command line or a file. */

/** Strict patterns for every value that can reach a command line or a file we write. */
export const patterns = {
  /** RFC 1123 hostname, lowercase (Kubernetes node names). */
  hostname: '^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$',
  /** X.Y.Z, as kubeadm and the package repository spell it. */
  kubernetesVersion: '^(0|[1-9][0-9]{0,2})\\.(0|[1-9][0-9]{0,2})\\.(0|[1-9][0-9]{0,3})$',
  /** http(s) URL without quotes, spaces, shell or repo-file metacharacters. */
  url: '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~:/%+@!=,-]*)?$',
  /** A registry host[:port] and an optional path, without tag: kubeadm's imageRepository. */
  imageRepository: '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$',
  /** A container registry host[:port]. */
  registry: '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$',
  /** registry/path:tag or @sha256 digest. */
  image:
    '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)+(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[0-9a-f]{64})$',
} as const;

export const roles = ['control-plane', 'worker', 'load-balancer'] as const;
export type NodeRole = (typeof roles)[number];
export const NodeRoleSchema = Type.Union([
  Type.Literal('control-plane'),
  Type.Literal('worker'),
  Type.Literal('load-balancer'),
]);

/** Strict shapes of the kubeadm values that reach a config file or a command line. */
export const kubeadmPatterns = {
  bootstrapToken: '^[a-z0-9]{6}\\.[a-z0-9]{16}$',
  /** A token id ("abcdef") or a whole token. */
  bootstrapTokenOrId: '^[a-z0-9]{6}(\\.[a-z0-9]{16})?$',
  certificateKey: '^[0-9a-f]{64}$',
  caCertHash: '^sha256:[0-9a-f]{64}$',
  /** "10.0.0.6:16443", "[fd00::6]:16443" or "api.example.com:16443". */
  endpoint: '^(\\[[0-9a-fA-F:.]+\\]|[0-9.]+|[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?):[0-9]{1,5}$',
  cidr: '^[0-9a-fA-F:.]+/[0-9]{1,3}$',
  address: '^[0-9a-fA-F:.]{2,45}$',
  /** "https://192.168.1.11:2380" or "https://[fd00::11]:2380". */
  etcdPeerUrl: '^https://(\\[[0-9a-fA-F:.]{2,45}\\]|[0-9.]{7,15}):[0-9]{1,5}$',
  /** Free text kubeadm stores with a token. */
  description: '^[A-Za-z0-9 ._:/()-]{0,200}$',
} as const;
