import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes keepalived's track_file: "0" while this node may hold the VIP, "1" while it may not (weight 0: non-zero
 * is a fault). keepalived watches the file with inotify, so the VIP leaves as soon as the verdict does.
 * Writes are queued so the last verdict always wins.
 */
export function vrrpTrackFileWriter(
  path: string,
  onError: (error: unknown) => void,
): (healthy: boolean) => Promise<void> {
  let queue = Promise.resolve();
  return (healthy) => {
    queue = queue.then(async () => {
      try {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        const temp = `${path}.${process.pid}.tmp`;
        await writeFile(temp, healthy ? '0\n' : '1\n', { mode: 0o644 });
        await rename(temp, path);
      } catch (error) {
        onError(error);
      }
    });
    return queue;
  };
}
