// stand-in for getsebool: behaves like getsebool at its interface for the lab — "NAME --> on|off".
import { currentMode, readBooleans } from './selinux-state.ts';

if (currentMode() === 'Disabled') {
  process.stdout.write('getsebool:  SELinux is disabled\n');
  process.exit(1);
}
const booleans = readBooleans();
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const name of names.length > 0 ? names : Object.keys(booleans)) {
  if (!(name in booleans)) {
    process.stderr.write(`Error getting active value for ${name}\n`);
    process.exit(1);
  }
  process.stdout.write(`${name} --> ${booleans[name] ? 'on' : 'off'}\n`);
}
