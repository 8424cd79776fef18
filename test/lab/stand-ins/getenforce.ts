// stand-in for getenforce: behaves like getenforce at its interface for the lab — prints the node's SELinux mode.
import { currentMode } from './selinux-state.ts';

process.stdout.write(`${currentMode()}\n`);
