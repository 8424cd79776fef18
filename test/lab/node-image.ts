// What a freshly installed EL9 machine looks like to kubeha, laid into a lab node's own /etc and /var/lib before it
// boots: Rocky Linux's os-release, SELinux enforcing, chronyd and firewalld installed, enabled and (at boot)
// running, the lab's node identity for the stand-ins, and the agent RPM's check script.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabNode } from './lab-node.ts';
import { projectRoot } from './lab-node.ts';

const osRelease = `NAME="Rocky Linux"
VERSION="9.4 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
ANSI_COLOR="0;32"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
`;

const selinuxConfig = `# This file controls the state of SELinux on the system.
SELINUX=enforcing
SELINUXTYPE=targeted
`;

/** Replaces a file of the node's /etc, never writing through a symlink into the host's files. */
function ownFile(path: string, content: string, mode = 0o644): void {
  rmSync(path, { force: true });
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content, { mode });
}

/** `kubernetesVersion` set: a real-control-plane lab of that release (the kubelet stand-in talks to the real API). */
export function installNodeImage(node: LabNode, clusterDir: string, kubernetesVersion?: string): void {
  const etc = join(node.dir, 'etc');
  const varLib = join(node.dir, 'var-lib');
  ownFile(join(etc, 'os-release'), osRelease);
  ownFile(join(etc, 'selinux', 'config'), selinuxConfig);
  ownFile(
    join(etc, 'khlab', 'node.json'),
    `${JSON.stringify(
      {
        name: node.name,
        address: node.address,
        clusterDir,
        ...(kubernetesVersion ? { kubernetesVersion, realControlPlane: true } : {}),
      },
      null,
      2,
    )}\n`,
  );
  for (const file of ['fstab', 'resolv.conf']) ownFile(join(etc, file), '');
  ownFile(join(etc, 'sysctl.conf'), '');
  rmSync(join(etc, 'sysctl.d'), { recursive: true, force: true });
  mkdirSync(join(etc, 'sysctl.d'), { recursive: true });
  ownFile(
    join(varLib, 'rpm-stand-in', 'packages.json'),
    JSON.stringify(
      [
        { name: 'chrony', version: '4.5', release: '1.el9', arch: 'x86_64' },
        { name: 'firewalld', version: '1.3.4', release: '1.el9', arch: 'noarch' },
      ],
      null,
      2,
    ),
  );
  ownFile(
    join(varLib, 'systemd-stand-in', 'units.json'),
    JSON.stringify({ chronyd: { enabled: true, masked: false }, firewalld: { enabled: true, masked: false } }),
  );
  const libexec = join(node.dir, 'libexec-upper', 'kubeha');
  mkdirSync(libexec, { recursive: true });
  copyFileSync(join(projectRoot, 'packaging', 'check-apiserver'), join(libexec, 'check-apiserver'));
}

/** What systemd starts at boot: the enabled services. */
export async function bootNode(node: LabNode): Promise<void> {
  const started = await node.run('systemctl', ['start', 'chronyd', 'firewalld']);
  if (started.code !== 0) throw new Error(`node ${node.name}: boot failed: ${started.stderr}`);
}
