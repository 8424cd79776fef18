// stand-in for hostnamectl: behaves like hostnamectl at its interface for the lab — set-hostname NAME (the node's
// UTS namespace and its /etc/hostname), hostname / --static, and the status view.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

const argv = process.argv.slice(2);
const words = argv.filter((a) => !a.startsWith('-'));
if (words[0] === 'set-hostname' && words[1]) {
  if (!/^[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?$/i.test(words[1])) {
    process.stderr.write(`Invalid hostname '${words[1]}'\n`);
    process.exit(1);
  }
  execFileSync('hostname', [words[1]]);
  writeFileSync('/etc/hostname', `${words[1]}\n`);
  process.exit(0);
}
if (words[0] === 'hostname' || argv.includes('--static')) {
  process.stdout.write(`${hostname()}\n`);
  process.exit(0);
}
process.stdout.write(
  ` Static hostname: ${hostname()}\n       Icon name: computer-vm\n Operating System: Rocky Linux 9.4 (Blue Onyx)\n          Kernel: Linux\n    Architecture: x86-64\n`,
);
