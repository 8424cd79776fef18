// stand-in for firewall-cmd: behaves like firewall-cmd at its interface for the lab — --state, [--permanent]
// --list-ports / --list-rich-rules / --list-protocols, --add-port, --add-rich-rule, --add-protocol, --reload — with
// the runtime and permanent configuration of the default zone in the node's /run and /etc. It filters nothing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

interface Zone {
  ports: string[];
  richRules: string[];
  protocols: string[];
}

const permanentPath = '/etc/firewalld/zones/public.stand-in.json';
const runtimePath = '/run/firewalld-stand-in/public.json';

function read(path: string): Zone {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Zone;
  } catch {
    return { ports: [], richRules: [], protocols: [] };
  }
}

function write(path: string, zone: Zone): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(zone, null, 2));
}

function running(): boolean {
  try {
    execFileSync('systemctl', ['is-active', '--quiet', 'firewalld']);
    return true;
  } catch {
    return false;
  }
}

function main(argv: string[]): number {
  if (!running()) {
    process.stdout.write('FirewallD is not running\n');
    return 252;
  }
  if (argv.includes('--state')) {
    process.stdout.write('running\n');
    return 0;
  }
  if (argv.includes('--reload')) {
    write(runtimePath, read(permanentPath));
    process.stdout.write('success\n');
    return 0;
  }
  const permanent = argv.includes('--permanent');
  const path = permanent ? permanentPath : runtimePath;
  const zone = read(path);
  if (argv.includes('--list-ports')) process.stdout.write(`${zone.ports.join(' ')}\n`);
  else if (argv.includes('--list-rich-rules')) process.stdout.write(zone.richRules.map((r) => `${r}\n`).join(''));
  else if (argv.includes('--list-protocols')) process.stdout.write(`${zone.protocols.join(' ')}\n`);
  else {
    let changed = false;
    for (const arg of argv) {
      const [flag, ...rest] = arg.split('=');
      const value = rest.join('=');
      if (flag === '--add-port') {
        if (!/^\d+(-\d+)?\/(tcp|udp|sctp|dccp)$/.test(value)) {
          process.stderr.write(`Error: INVALID_PORT: ${value}\n`);
          return 1;
        }
        if (!zone.ports.includes(value)) zone.ports.push(value);
        changed = true;
      } else if (flag === '--add-rich-rule') {
        const normalised = value.replace(/\s+/g, ' ').trim();
        if (!normalised.startsWith('rule ')) {
          process.stderr.write(`Error: INVALID_RULE: ${value}\n`);
          return 1;
        }
        if (!zone.richRules.includes(normalised)) zone.richRules.push(normalised);
        changed = true;
      } else if (flag === '--add-protocol') {
        if (!zone.protocols.includes(value)) zone.protocols.push(value);
        changed = true;
      }
    }
    if (!changed) {
      process.stderr.write('usage: see firewall-cmd --help (the lab stand-in)\n');
      return 2;
    }
    write(path, zone);
    process.stdout.write('success\n');
  }
  return 0;
}

process.exit(main(process.argv.slice(2)));
