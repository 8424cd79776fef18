// stand-in for modprobe: behaves like modprobe at its interface for the lab — a lab node must not load modules
// into the shared kernel, so loading marks the module as present in the node's own /sys/module view.
import { existsSync, mkdirSync } from 'node:fs';

const knownModules = [
  'overlay',
  'br_netfilter',
  'ip_vs',
  'ip_vs_rr',
  'ip_vs_wrr',
  'ip_vs_sh',
  'nf_conntrack',
  'vxlan',
  'ip_tables',
  'iptable_nat',
];
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const name of names) {
  if (!knownModules.includes(name) && !existsSync(`/sys/module/${name}`)) {
    process.stderr.write(`modprobe: FATAL: Module ${name} not found in directory /lib/modules/lab\n`);
    process.exit(1);
  }
  mkdirSync(`/sys/module/${name}`, { recursive: true });
}
