// The node's SELinux state for the stand-in getenforce/setenforce/getsebool/setsebool: the running mode in the node's
// /run (it starts from /etc/selinux/config at boot, as the kernel does) and the booleans in its /var/lib.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const modePath = '/run/selinux-stand-in/enforce';
const booleansPath = '/var/lib/selinux-stand-in/booleans.json';

export type SelinuxMode = 'Enforcing' | 'Permissive' | 'Disabled';

export function currentMode(): SelinuxMode {
  try {
    return readFileSync(modePath, 'utf8').trim() as SelinuxMode;
  } catch {
    const config = (() => {
      try {
        return readFileSync('/etc/selinux/config', 'utf8');
      } catch {
        return '';
      }
    })();
    const mode = /^SELINUX=(\w+)/m.exec(config)?.[1];
    return mode === 'enforcing' ? 'Enforcing' : mode === 'permissive' ? 'Permissive' : 'Disabled';
  }
}

export function setMode(mode: SelinuxMode): void {
  mkdirSync('/run/selinux-stand-in', { recursive: true });
  writeFileSync(modePath, mode);
}

export function readBooleans(): Record<string, boolean> {
  try {
    return JSON.parse(readFileSync(booleansPath, 'utf8')) as Record<string, boolean>;
  } catch {
    return { haproxy_connect_any: false };
  }
}

export function writeBooleans(booleans: Record<string, boolean>): void {
  mkdirSync('/var/lib/selinux-stand-in', { recursive: true });
  writeFileSync(booleansPath, JSON.stringify(booleans));
}
