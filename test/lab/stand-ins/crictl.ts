// stand-in for crictl: behaves like crictl at its interface for the lab — ps (-q, --state, --label, --name, -a),
// pods, exec CONTAINER etcdctl ..., rm/stop, info — over the static pods the stand-in kubelet runs.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { requirePackage } from './package-database.ts';
import { isAlive, podStateDir, runningPods } from './static-pods.ts';

requirePackage('cri-tools', 'crictl');

function value(argv: string[], ...names: string[]): string[] {
  const values: string[] = [];
  argv.forEach((a, i) => {
    for (const n of names) {
      if (a === n && argv[i + 1]) values.push(argv[i + 1]!);
      if (a.startsWith(`${n}=`)) values.push(a.slice(n.length + 1));
    }
  });
  return values;
}

function main(argv: string[]): number {
  const [verb, ...rest] = argv;
  const pods = runningPods();
  switch (verb) {
    case 'ps': {
      const state = value(rest, '--state', '-s')[0];
      const labels = value(rest, '--label');
      const names = value(rest, '--name');
      const all = rest.includes('-a') || rest.includes('--all');
      const selected = pods.filter((p) => {
        const running = isAlive(p.pid);
        if (state && (state === 'Running') !== running) return false;
        if (!state && !all && !running) return false;
        for (const l of labels) {
          const [k, v] = l.split('=');
          if (k === 'io.kubernetes.container.name' && v !== p.containerName) return false;
          if (k === 'io.kubernetes.pod.namespace' && v !== p.namespace) return false;
          if (k === 'io.kubernetes.pod.name' && v !== p.podName) return false;
        }
        return names.every((n) => new RegExp(n).test(p.containerName));
      });
      if (rest.includes('-q') || rest.includes('--quiet')) {
        for (const p of selected) process.stdout.write(`${p.containerId}\n`);
        return 0;
      }
      process.stdout.write(
        'CONTAINER           IMAGE               CREATED             STATE               NAME                      ATTEMPT             POD ID              POD\n',
      );
      for (const p of selected) {
        process.stdout.write(
          `${p.containerId.slice(0, 13)}       ${p.image.slice(0, 18).padEnd(19)} ${p.startedAt.padEnd(19)} ${isAlive(p.pid) ? 'Running' : 'Exited'}             ${p.containerName.padEnd(25)} 0                   ${p.podId.slice(0, 13)}       ${p.podName}\n`,
        );
      }
      return 0;
    }
    case 'pods':
      process.stdout.write(
        'POD ID              CREATED             STATE               NAME                      NAMESPACE\n',
      );
      for (const p of pods)
        process.stdout.write(
          `${p.podId.slice(0, 13)}       ${p.startedAt.padEnd(19)} ${isAlive(p.pid) ? 'Ready' : 'NotReady'}               ${p.podName.padEnd(25)} ${p.namespace}\n`,
        );
      return 0;
    case 'exec': {
      const args = rest.filter((a) => !['-i', '-t', '-it', '-s', '--sync'].includes(a));
      const [id, command, ...commandArgs] = args;
      const pod = pods.find((p) => id && p.containerId.startsWith(id));
      if (!pod || !isAlive(pod.pid)) {
        process.stderr.write(
          `time="${new Date().toISOString()}" level=fatal msg="execing command in container: rpc error: code = NotFound desc = an error occurred when try to find container \\"${id ?? ''}\\": not found"\n`,
        );
        return 1;
      }
      try {
        execFileSync(command ?? 'sh', commandArgs, { stdio: 'inherit' });
        return 0;
      } catch (error) {
        return (error as { status?: number }).status ?? 1;
      }
    }
    case 'rm':
    case 'stop': {
      const all = rest.includes('--all') || rest.includes('-a');
      const ids = rest.filter((a) => !a.startsWith('-'));
      for (const p of pods.filter((p) => all || ids.some((id) => p.containerId.startsWith(id)))) {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
        if (verb === 'rm') rmSync(`${podStateDir}/${p.manifest}.json`, { force: true });
        process.stdout.write(`${p.containerId}\n`);
      }
      return 0;
    }
    case 'info':
      process.stdout.write(
        `${JSON.stringify(
          {
            status: {
              conditions: [
                { type: 'RuntimeReady', status: true },
                { type: 'NetworkReady', status: true },
              ],
            },
            config: { containerd: { runtimes: { runc: { options: { SystemdCgroup: true } } } } },
          },
          null,
          2,
        )}\n`,
      );
      return 0;
    default:
      process.stderr.write(`crictl: unknown command "${verb ?? ''}" (the lab stand-in)\n`);
      return 1;
  }
}

process.exit(main(process.argv.slice(2)));
