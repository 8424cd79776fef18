// The node's SELinux state for the stand-in getenforce/setenforce/getsebool/setsebool: the running mode in the node's
// /run (it starts from /etc/selinux/config at boot, as the kernel does) and the booleans in its /var/lib.
import { execFileSync } from 'node:child_process';
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

/**
 * The targeted policy's file contexts the lab meets, most specific first (file_contexts picks the most specific
 * match): keepalived.fc's own rules, then the generic ones of the directories kubeha writes to.
 */
const fileContexts: readonly [RegExp, string][] = [
  [/^\/run\/keepalived.*$/, 'keepalived_var_run_t'],
  [/^\/usr\/libexec\/keepalived(\/.*)?$/, 'keepalived_unconfined_script_exec_t'],
  [/^\/run(\/.*)?$/, 'var_run_t'],
  [/^\/var\/lib(\/.*)?$/, 'var_lib_t'],
  [/^\/usr\/libexec(\/.*)?$/, 'bin_t'],
  [/^\/etc(\/.*)?$/, 'etc_t'],
];

/** The context restorecon gives `path`. */
export function policyLabel(path: string): string {
  const type = fileContexts.find(([pattern]) => pattern.test(path))?.[1] ?? 'default_t';
  return `system_u:object_r:${type}:s0`;
}

/** The file's security.selinux attribute (as stat -c %C reads it), or '' when it has none. */
export function currentLabel(path: string): string {
  try {
    return execFileSync('stat', ['-c', '%C', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** The types keepalived_t may open a file of (keepalived.te: its own run and tmp files). */
const keepalivedReadable = new Set(['keepalived_var_run_t', 'keepalived_tmp_t']);

/**
 * Whether keepalived, confined as keepalived_t, may read the file: always unless enforcing; enforcing, only a file
 * of a type keepalived.te lets it open. A file nobody labelled has the type it was created with: its directory's
 * (no type transition applies to the agent's files), so the nearest labelled ancestor's.
 */
export function keepalivedMayRead(path: string): boolean {
  if (currentMode() !== 'Enforcing') return true;
  for (let p = path; p !== ''; p = p.slice(0, p.lastIndexOf('/'))) {
    const label = currentLabel(p);
    if (label !== '') return keepalivedReadable.has(label.split(':')[2] ?? '');
  }
  return false;
}
