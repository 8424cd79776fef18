import type { Host } from '../../host/host.ts';
import { ensureFile } from '../../os-actions/ensure-file.ts';
import type { PlannedChange } from '../../step-execution/step.ts';
import type { HostPrepPart } from './host-prep-params.ts';

export const kernelModules = ['overlay', 'br_netfilter'];
export const modulesLoadPath = '/etc/modules-load.d/kubeha.conf';
export const modulesLoadContent = `# Written by kubeha (host-prep): overlayfs for containerd, bridge netfilter for the CNI.\n${kernelModules.join('\n')}\n`;
export const sysctls: Record<string, string> = {
  'net.ipv4.ip_forward': '1',
  'net.bridge.bridge-nf-call-iptables': '1',
  'net.bridge.bridge-nf-call-ip6tables': '1',
};
export const sysctlPath = '/etc/sysctl.d/99-kubeha.conf';
export const sysctlContent = `# Written by kubeha (host-prep): Kubernetes networking needs these.\n${Object.entries(
  sysctls,
)
  .map(([k, v]) => `${k} = ${v}`)
  .join('\n')}\n`;
function procSysPath(key: string): string {
  return `/proc/sys/${key.replace(/\./g, '/')}`;
}

/** Where systemd-sysctl reads its files at boot; a name in an earlier directory hides the same name in a later one. */
export const sysctlDirs = ['/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d'];

/**
 * What the other sysctl files would do at boot that kubeha should know of: keys this kernel lacks (systemd-sysctl
 * and `sysctl --system` fail on them) and files read after kubeha's that set one of its keys otherwise.
 */
async function otherSysctlFileWarnings(host: Host): Promise<string[]> {
  const files = new Map<string, string>();
  for (const dir of sysctlDirs) {
    for (const name of (await host.listDir(dir)).filter((n) => n.endsWith('.conf')).sort()) {
      if (!files.has(name)) files.set(name, `${dir}/${name}`);
    }
  }
  const ours = sysctlPath.slice(sysctlPath.lastIndexOf('/') + 1);
  const ordered = [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const warnings: string[] = [];
  const read = [...ordered.map(([name, path]) => ({ name, path })), { name: '~sysctl.conf', path: '/etc/sysctl.conf' }];
  for (const { name, path } of read) {
    if (path === sysctlPath) continue;
    const text = await host.readFile(path);
    if (text === undefined) continue;
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (!trimmed || trimmed.startsWith('#') || trimmed.startsWith(';') || !trimmed.includes('=')) continue;
      const key = trimmed.slice(0, trimmed.indexOf('=')).trim().replace(/\//g, '.');
      const value = trimmed.slice(trimmed.indexOf('=') + 1).trim();
      // A leading '-' tells systemd-sysctl to ignore a failure; globs match whatever exists.
      if (key.startsWith('-') || key.includes('*')) continue;
      if (!(await host.exists(procSysPath(key)))) {
        warnings.push(`${path} sets ${key}, which this kernel does not have (sysctl --system fails on it)`);
      } else if (name > ours && sysctls[key] !== undefined && value !== sysctls[key]) {
        warnings.push(
          `${path} sets ${key} = ${value} after ${sysctlPath}: it wins at boot over kubeha's ${sysctls[key]}`,
        );
      }
    }
  }
  return warnings;
}

/** overlay and br_netfilter loaded now and at boot; the Kubernetes sysctls set now and at boot, from kubeha's own file. */
export const kernelPart: HostPrepPart = {
  name: 'kernel',
  async plan(ctx) {
    const { host } = ctx;
    const changes: PlannedChange[] = [];
    const modulesLoad = await ensureFile(host, {
      path: modulesLoadPath,
      content: modulesLoadContent,
      mode: 0o644,
      description: `load ${kernelModules.join(' and ')} at boot (${modulesLoadPath})`,
    });
    changes.push(...modulesLoad.changes);
    for (const module of kernelModules) {
      if (!(await host.exists(`/sys/module/${module}`))) {
        changes.push({
          description: `load the kernel module ${module} (modprobe ${module})`,
          apply: async () => void (await host.exec('modprobe', [module])),
        });
      }
    }
    const sysctlFile = await ensureFile(host, {
      path: sysctlPath,
      content: sysctlContent,
      mode: 0o644,
      description: `write ${sysctlPath} (${Object.keys(sysctls).join(', ')})`,
    });
    changes.push(...sysctlFile.changes);
    const wrong: string[] = [];
    for (const [key, value] of Object.entries(sysctls)) {
      const current = (await host.readFile(procSysPath(key)))?.trim();
      if (current !== value) wrong.push(`${key}=${current ?? 'absent'}`);
    }
    if (wrong.length > 0 || sysctlFile.contentDiffers) {
      // Only kubeha's own file: `sysctl --system` exits 1 when any other file names a key this kernel lacks.
      changes.push({
        description: `apply the sysctls now (sysctl -p ${sysctlPath}${wrong.length > 0 ? `; now ${wrong.join(', ')}` : ''})`,
        apply: async () => void (await host.exec('sysctl', ['-p', sysctlPath])),
      });
    }
    for (const warning of await otherSysctlFileWarnings(host)) ctx.log(`warning: ${warning}`);
    return changes;
  },
};
