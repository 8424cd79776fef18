// stand-in for sysctl: behaves like sysctl at its interface for the lab — --system, -p FILE, -w KEY=VALUE, KEY —
// writing only the net.* keys, which belong to the node's own network namespace; other keys would change the
// shared host kernel and are reported as applied without being written.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

function procPath(key: string): string {
  return `/proc/sys/${key.replace(/\./g, '/')}`;
}

function apply(key: string, value: string, quiet: boolean): void {
  if (key.startsWith('net.') && existsSync(procPath(key))) writeFileSync(procPath(key), value);
  if (!quiet) process.stdout.write(`${key} = ${value}\n`);
}

function applyFile(path: string, quiet: boolean): void {
  if (!quiet) process.stdout.write(`* Applying ${path} ...\n`);
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    const [key, ...rest] = trimmed.split('=');
    apply(key!.trim().replace(/^-/, ''), rest.join('=').trim(), quiet);
  }
}

const argv = process.argv.slice(2);
const quiet = argv.includes('-q') || argv.includes('--quiet');
if (argv.includes('--system')) {
  const files = new Map<string, string>();
  for (const dir of ['/usr/lib/sysctl.d', '/run/sysctl.d', '/etc/sysctl.d']) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.conf'))) files.set(f, `${dir}/${f}`);
  }
  for (const name of [...files.keys()].sort()) applyFile(files.get(name)!, quiet);
  if (existsSync('/etc/sysctl.conf')) applyFile('/etc/sysctl.conf', quiet);
} else if (argv.includes('-p')) {
  applyFile(argv[argv.indexOf('-p') + 1] ?? '/etc/sysctl.conf', quiet);
} else {
  for (const arg of argv.filter((a) => !a.startsWith('-'))) {
    if (arg.includes('=')) {
      const [key, ...rest] = arg.split('=');
      apply(key!, rest.join('='), quiet);
    } else if (existsSync(procPath(arg)))
      process.stdout.write(`${arg} = ${readFileSync(procPath(arg), 'utf8').trim()}\n`);
    else {
      process.stderr.write(`sysctl: cannot stat ${procPath(arg)}: No such file or directory\n`);
      process.exit(255);
    }
  }
}
