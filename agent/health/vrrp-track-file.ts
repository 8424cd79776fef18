import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes keepalived's track_file: "0" while this node may hold the VIP, "1" while it may not (weight 0: non-zero
 * is a fault). keepalived watches the file with inotify, so the VIP leaves as soon as the verdict does.
 * The write is synchronous, in the same turn as the verdict: two bytes and a rename cost microseconds, while an
 * asynchronous write would wait behind whatever else holds libuv's thread pool on a busy node.
 */
export function vrrpTrackFileWriter(
  path: string,
  onError: (error: unknown) => void,
): (healthy: boolean) => Promise<void> {
  return (healthy) => {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      const temp = `${path}.${process.pid}.tmp`;
      writeFileSync(temp, healthy ? '0\n' : '1\n', { mode: 0o644 });
      renameSync(temp, path);
    } catch (error) {
      onError(error);
    }
    return Promise.resolve();
  };
}
