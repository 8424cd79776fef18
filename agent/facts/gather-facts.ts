import { existsSync, readFileSync } from 'node:fs';
import si from 'systeminformation';
import type { NodeFacts } from '../../proto/convert.ts';
import { parseOsRelease } from '../host/os-release.ts';

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** "255.255.255.0" -> 24, "ffff:ffff:ffff:ffff::" -> 64. */
export function netmaskToPrefix(netmask: string): number {
  const groups = netmask.includes(':')
    ? netmask.split(':').map((g) => Number.parseInt(g || '0', 16))
    : netmask.split('.').map(Number);
  return groups.map((g) => g.toString(2).replace(/0/g, '').length).reduce((a, b) => a + b, 0);
}

/** The facts the coordinator needs for its cross-node checks; cheap calls only (tens of milliseconds). */
export async function gatherFacts(paths: { root?: string } = {}): Promise<NodeFacts> {
  const root = paths.root ?? '';
  const [os, cpu, mem, interfaces, defaultInterface] = await Promise.all([
    si.osInfo(),
    si.cpu(),
    si.mem(),
    si.networkInterfaces(),
    si.networkInterfaceDefault().catch(() => ''),
  ]);
  const osRelease = parseOsRelease(readTrimmed(`${root}/etc/os-release`));
  const list = Array.isArray(interfaces) ? interfaces : [interfaces];
  return {
    hostname: os.hostname,
    osId: osRelease['ID'] ?? '',
    osVersionId: osRelease['VERSION_ID'] ?? '',
    osPrettyName: osRelease['PRETTY_NAME'] ?? os.distro,
    kernel: os.kernel,
    arch: os.arch,
    cpuCount: cpu.cores,
    memoryBytes: mem.total,
    swapBytes: mem.swaptotal,
    interfaces: list
      .filter((i) => i.iface !== 'lo')
      .map((i) => ({
        name: i.iface,
        mac: i.mac,
        addresses: [
          ...(i.ip4 ? [`${i.ip4}/${netmaskToPrefix(i.ip4subnet)}`] : []),
          ...(i.ip6 && !i.ip6.startsWith('fe80')
            ? [`${i.ip6}/${netmaskToPrefix(i.ip6subnet || 'ffff:ffff:ffff:ffff::')}`]
            : []),
        ],
        virtual: i.virtual,
      })),
    productUuid: readTrimmed(`${root}/sys/class/dmi/id/product_uuid`).toLowerCase(),
    machineId: readTrimmed(`${root}/etc/machine-id`),
    defaultRouteInterface: defaultInterface,
    cgroupVersion: existsSync(`${root}/sys/fs/cgroup/cgroup.controllers`) ? 2 : 1,
  };
}
