// The node's RPM database stand-in: which packages are installed, at which version, in the node's own /var/lib.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const packageDatabasePath = '/var/lib/rpm-stand-in/packages.json';

export interface InstalledPackage {
  name: string;
  version: string;
  release: string;
  arch: string;
}

/** Versions dnf installs when none is asked for (what the configured repositories would serve). */
export const repositoryVersions: Record<string, string> = {
  kubelet: '1.34.4',
  kubeadm: '1.34.4',
  kubectl: '1.34.4',
  'cri-tools': '1.34.0',
  'kubernetes-cni': '1.5.1',
  'containerd.io': '1.7.25',
  keepalived: '2.2.7',
  haproxy: '2.6.12',
  chrony: '4.5',
  firewalld: '1.3.4',
  runc: '1.1.12',
  podman: '4.9.4',
  buildah: '1.33.7',
};

/** What a repository package conflicts with (containerd.io's spec: Obsoletes and Conflicts runc and containerd). */
export const repositoryConflicts: Record<string, string[]> = {
  'containerd.io': ['runc', 'containerd'],
};

/** What packages require (their RPM Requires), installed with them at the repository's version. */
export const repositoryRequires: Record<string, string[]> = {
  kubeadm: ['cri-tools'],
  kubelet: ['kubernetes-cni'],
  podman: ['runc'],
  buildah: ['runc'],
};

export function readPackages(): InstalledPackage[] {
  try {
    return JSON.parse(readFileSync(packageDatabasePath, 'utf8')) as InstalledPackage[];
  } catch {
    return [];
  }
}

export function writePackages(packages: InstalledPackage[]): void {
  mkdirSync(dirname(packageDatabasePath), { recursive: true });
  writeFileSync(packageDatabasePath, JSON.stringify(packages, null, 2));
}

export function isInstalled(name: string): boolean {
  return readPackages().some((p) => p.name === name);
}

/** Exits like a shell does when a command is not installed (the package that ships it is absent). */
export function requirePackage(pkg: string, command: string): void {
  if (!isInstalled(pkg)) {
    process.stderr.write(`${command}: command not found (package ${pkg} is not installed)\n`);
    process.exit(127);
  }
}
