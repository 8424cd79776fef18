// The containers the stand-in kubelet runs, as the stand-in crictl lists them: one record per static pod in the
// node's /run.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

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

export interface StaticPodManifest {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    containers?: {
      name?: string;
      image?: string;
      command?: string[];
      args?: string[];
      env?: { name: string; value?: unknown }[];
    }[];
  };
}

/**
 * Starts a static pod's first container as a process of the node (the image is ignored; its command is found on PATH),
 * logging to /var/log/pods as the kubelet does, and records it for the stand-in crictl.
 */
export function startStaticPod(
  file: string,
  manifest: StaticPodManifest,
  hash: string,
  options: { nodeName: string; startedAt: string; log: (line: string) => void; containerEnv: boolean },
): RunningPod | undefined {
  const { log } = options;
  const container = manifest.spec?.containers?.[0];
  const argv: string[] = [...(container?.command ?? []), ...(container?.args ?? [])];
  if (!manifest.metadata?.name || argv.length === 0) {
    log(`${file}: no pod name or container command; skipped`);
    return undefined;
  }
  const podName = `${manifest.metadata.name}-${options.nodeName}`;
  const namespace = manifest.metadata.namespace ?? 'kube-system';
  const logDir = `/var/log/pods/${namespace}_${podName}`;
  mkdirSync(logDir, { recursive: true });
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  if (options.containerEnv) {
    for (const e of container?.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
  }
  const out = openSync(`${logDir}/${container?.name ?? 'main'}.log`, 'a');
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', out, out], env, cwd: '/' });
  closeSync(out);
  child.on('error', (e) => log(`${podName}: ${e.message}`));
  child.unref();
  if (child.pid === undefined) return undefined;
  const pod: RunningPod = {
    manifest: file,
    podName,
    namespace,
    containerName: container?.name ?? manifest.metadata.name,
    containerId: randomBytes(32).toString('hex'),
    podId: randomBytes(32).toString('hex'),
    image: container?.image ?? 'unknown',
    pid: child.pid,
    hash,
    startedAt: options.startedAt,
  };
  writeFileSync(`${podStateDir}/${file}.json`, JSON.stringify(pod));
  log(`started static pod ${podName} (pid ${child.pid}): ${argv[0]}`);
  return pod;
}
