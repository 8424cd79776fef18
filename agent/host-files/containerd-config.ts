/** Pure edits of containerd's config.toml (as printed by `containerd config default`) for the kubelet. */

export const containerdSocket = '/run/containerd/containerd.sock';
export const registryConfigDir = '/etc/containerd/certs.d';

/** The pause image kubeadm uses per Kubernetes minor (kubeadm constants PauseVersion). */
const pauseVersions: [minor: number, tag: string][] = [
  [27, '3.9'],
  [31, '3.10'],
  [34, '3.10.1'],
  [36, '3.10.2'],
];

export function pauseImageFor(kubernetesVersion: string, imageRepository = 'registry.k8s.io'): string {
  const minor = Number(kubernetesVersion.split('.')[1]);
  let tag = pauseVersions[0]![1];
  for (const [from, t] of pauseVersions) if (minor >= from) tag = t;
  return `${imageRepository}/pause:${tag}`;
}

/** The `version = N` of a containerd config: 2 for containerd 1.x, 3 for 2.x. */
export function configVersion(toml: string): number {
  const match = /^version\s*=\s*(\d+)\s*$/m.exec(toml);
  return match ? Number(match[1]) : 1;
}

function tomlValue(value: string | boolean): string {
  return typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

/**
 * Sets `key = value` in the table `[header]`: replaces the key's line when the table has it, inserts it right
 * after the header otherwise, and appends the table when it is missing. Other lines are kept as they are.
 */
export function setTomlKey(toml: string, header: string, key: string, value: string | boolean): string {
  const lines = toml.split('\n');
  const start = lines.findIndex((l) => l.trim() === `[${header}]`);
  const line = (indent: string) => `${indent}${key} = ${tomlValue(value)}`;
  if (start === -1) {
    const body = toml.endsWith('\n') ? toml : `${toml}\n`;
    return `${body}\n[${header}]\n${line('  ')}\n`;
  }
  const indent = `${/^\s*/.exec(lines[start]!)?.[0] ?? ''}  `;
  let end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
  if (end === -1) end = lines.length;
  const keyPattern = new RegExp(`^\\s*${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=`);
  const at = lines.findIndex((l, i) => i > start && i < end && keyPattern.test(l));
  if (at !== -1) {
    lines[at] = line(/^\s*/.exec(lines[at]!)?.[0] ?? indent);
  } else {
    lines.splice(start + 1, 0, line(indent));
  }
  return lines.join('\n');
}

/** containerd's own default config with the systemd cgroup driver, kubeadm's pause image and, if asked, mirrors. */
export function kubeletReadyConfig(defaultToml: string, options: { sandboxImage: string; mirrors: boolean }): string {
  const v3 = configVersion(defaultToml) >= 3;
  const runcOptions = v3
    ? "plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options"
    : 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options';
  let toml = setTomlKey(defaultToml, runcOptions, 'SystemdCgroup', true);
  toml = v3
    ? setTomlKey(toml, "plugins.'io.containerd.cri.v1.images'.pinned_images", 'sandbox', options.sandboxImage)
    : setTomlKey(toml, 'plugins."io.containerd.grpc.v1.cri"', 'sandbox_image', options.sandboxImage);
  if (options.mirrors) {
    toml = setTomlKey(
      toml,
      v3 ? "plugins.'io.containerd.cri.v1.images'.registry" : 'plugins."io.containerd.grpc.v1.cri".registry',
      'config_path',
      registryConfigDir,
    );
  }
  return `# Written by kubeha (container-runtime) from "containerd config default".\n${toml}`;
}

/** /etc/containerd/certs.d/<registry>/hosts.toml: pull through the mirrors, then the registry itself. */
export function hostsToml(registry: string, endpoints: readonly string[]): string {
  const server = registry === 'docker.io' ? 'https://registry-1.docker.io' : `https://${registry}`;
  return `# Written by kubeha (container-runtime): mirrors for ${registry}.\nserver = ${JSON.stringify(server)}\n${endpoints
    .map((e) => `\n[host.${JSON.stringify(e)}]\n  capabilities = ["pull", "resolve"]\n`)
    .join('')}`;
}

export const crictlConfig = `# Written by kubeha (container-runtime).\nruntime-endpoint: unix://${containerdSocket}\nimage-endpoint: unix://${containerdSocket}\ntimeout: 10\n`;
