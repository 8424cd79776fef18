// The containers the stand-in kubelet runs, as the stand-in crictl lists them: one record per static pod in the
// node's /run.
import { readdirSync, readFileSync } from 'node:fs';

export const podStateDir = '/run/kubelet-stand-in/pods';

export interface RunningPod {
  manifest: string;
  podName: string;
  namespace: string;
  containerName: string;
  containerId: string;
  podId: string;
  image: string;
  pid: number;
  hash: string;
  startedAt: string;
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

export function runningPods(): RunningPod[] {
  let files: string[] = [];
  try {
    files = readdirSync(podStateDir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.flatMap((f) => {
    try {
      return [JSON.parse(readFileSync(`${podStateDir}/${f}`, 'utf8')) as RunningPod];
    } catch {
      return [];
    }
  });
}
