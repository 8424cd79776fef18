import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The version of kubeha; a bundle replaces this module's value at build time via KUBEHA_VERSION. */
export const kubehaVersion: string = (globalThis as { KUBEHA_VERSION?: string }).KUBEHA_VERSION ?? readVersion();
