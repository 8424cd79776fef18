// stand-in for setenforce: behaves like setenforce at its interface for the lab — 0/Permissive or 1/Enforcing
// changes the node's running SELinux mode; refused when SELinux is disabled.
import { currentMode, setMode } from './selinux-state.ts';

const arg = process.argv[2] ?? '';
if (currentMode() === 'Disabled') {
  process.stderr.write('setenforce: SELinux is disabled\n');
  process.exit(1);
}
if (['0', 'Permissive', 'permissive'].includes(arg)) setMode('Permissive');
else if (['1', 'Enforcing', 'enforcing'].includes(arg)) setMode('Enforcing');
else {
  process.stderr.write('usage:  setenforce [ Enforcing | Permissive | 1 | 0 ]\n');
  process.exit(1);
}
