import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import { osReleaseFixture } from '../../test/fixtures/os-release/os-release-fixtures.ts';
import { FakeHost } from '../host/fake-host.ts';
import { stepRegistry } from '../steps/step-registry.ts';
import { runLocalStep } from './local-step-command.ts';

function run(kind: string, paramsText: string, host: FakeHost, extra: { dryRun?: boolean; json?: boolean } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const done = runLocalStep({
    kind,
    paramsText,
    paramsSource: 'params.yaml',
    dryRun: extra.dryRun ?? false,
    json: extra.json ?? false,
    host,
    registry: stepRegistry,
    out: (t) => out.push(t),
    err: (t) => err.push(t),
  });
  return { done, out, err };
}

describe('kubeha-agent step', () => {
  it('GIVEN YAML params and --dry-run THEN it prints what would change and changes nothing', async () => {
    const host = new FakeHost({ files: { '/etc/os-release': osReleaseFixture('rocky-9') } })
      .stub('rpm', ['-q', '--queryformat', '%{NAME} %{VERSION}\\n', 'kubelet', 'kubeadm', 'kubectl'], { exitCode: 1 })
      .stub('systemctl', ['is-enabled', 'kubelet'], { exitCode: 1, stdout: 'disabled\n' });
    const { done, out } = run('kube-packages', 'kubernetesVersion: "1.31.4"\n', host, { dryRun: true });
    expect(await done).toBe(0);
    expect(out.join('')).toBe(
      [
        'kube-packages (dry run): changed',
        'would change:',
        '  - write /etc/yum.repos.d/kubernetes.repo (https://pkgs.k8s.io/core:/stable:/v1.31/rpm/)',
        '  - install kubelet-1.31.4 kubeadm-1.31.4 kubectl-1.31.4 (was absent, absent, absent)',
        '  - enable kubelet (systemctl enable kubelet)',
        '',
      ].join('\n'),
    );
    expect(host.writes).toEqual([]);
  });

  it('GIVEN JSON params that are invalid THEN it exits 1 naming the field, before any command', async () => {
    const host = new FakeHost();
    const { done, out } = run('kube-packages', '{"kubernetesVersion": "1.31.4; reboot"}', host, { json: true });
    expect(await done).toBe(1);
    const result = JSON.parse(out.join(''));
    expect(result.error.code).toBe(ErrorCode.paramsInvalid);
    expect(result.error.message).toContain('kube-packages.kubernetesVersion');
    expect(host.commands).toEqual([]);
  });

  it('GIVEN an unknown kind THEN it lists the known ones', async () => {
    await expect(run('reboot', '{}', new FakeHost()).done).rejects.toThrow(
      /unknown step kind "reboot"; known: preflight, host-prep/,
    );
  });
});
