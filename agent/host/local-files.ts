import { readdir, readFile } from 'node:fs/promises';
import type { Host } from './host.ts';

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * The Host's reading half on this machine, without the LocalHost's command machinery (execa): what an agent at rest
 * needs to read files, e.g. its certificate inventory. LocalHost reads through it too.
 */
export const localFiles: Pick<Host, 'readFile' | 'listDir'> = {
  async readFile(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  },
  async listDir(path) {
    try {
      return (await readdir(path)).sort();
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  },
};
