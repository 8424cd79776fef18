import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { keepalivedReadableType, planKeepalivedReadableDirectory } from './keepalived-readable-directory.ts';

const dir = '/run/keepalived-kubeha';

async function applyAll(changes: { apply(): Promise<void> }[]): Promise<void> {
  for (const c of changes) await c.apply();
}

/** A host whose restorecon gives `policyType` (what file_contexts says for the path) and whose chcon sets a type. */
function selinuxHost(mode: string, policyType: string): { host: FakeHost; labels: Map<string, string> } {
  const labels = new Map<string, string>();
  const host = new FakeHost()
    .stub('getenforce', [], { stdout: `${mode}\n` })
    .stub('stat', ['-c', '%C', dir], {
      exitCode: () => (labels.has(dir) ? 0 : 1),
      stdout: () => (labels.has(dir) ? `${labels.get(dir)}\n` : ''),
    })
    .stub('restorecon', ['-F', dir], {
      effect: () => labels.set(dir, `system_u:object_r:${policyType}:s0`),
    })
    .stub('chcon', ['-t', keepalivedReadableType, dir], {
      effect: () => labels.set(dir, `system_u:object_r:${keepalivedReadableType}:s0`),
    });
  return { host, labels };
}

describe('planKeepalivedReadableDirectory', () => {
  it('GIVEN an enforcing host without the directory THEN it is created and labelled by restorecon, and a second run changes nothing', async () => {
    const { host, labels } = selinuxHost('Enforcing', keepalivedReadableType);

    const changes = await planKeepalivedReadableDirectory(host, dir);

    expect(changes.map((c) => c.description)).toEqual([
      "create /run/keepalived-kubeha (0755: the agent's verdict for keepalived)",
      'label /run/keepalived-kubeha keepalived_var_run_t so that keepalived may read the verdict (restorecon -F; now new)',
    ]);
    await applyAll(changes);
    expect(await host.exists(dir)).toBe(true);
    expect(labels.get(dir)).toBe('system_u:object_r:keepalived_var_run_t:s0');
    expect(host.commandLines().filter((c) => !c.startsWith('getenforce') && !c.startsWith('stat'))).toEqual([
      'restorecon -F /run/keepalived-kubeha',
    ]);

    host.clearRecords();
    expect(await planKeepalivedReadableDirectory(host, dir)).toEqual([]);
    expect(host.commandLines()).toEqual(['getenforce', 'stat -c %C /run/keepalived-kubeha']);
  });

  it('GIVEN a permissive host with the directory labelled var_run_t THEN only the label changes, naming the old one', async () => {
    const { host, labels } = selinuxHost('Permissive', keepalivedReadableType);
    await host.mkdir(dir, 0o755);
    labels.set(dir, 'system_u:object_r:var_run_t:s0');

    const changes = await planKeepalivedReadableDirectory(host, dir);

    expect(changes.map((c) => c.description)).toEqual([
      'label /run/keepalived-kubeha keepalived_var_run_t so that keepalived may read the verdict (restorecon -F; now system_u:object_r:var_run_t:s0)',
    ]);
    await applyAll(changes);
    expect(labels.get(dir)).toBe('system_u:object_r:keepalived_var_run_t:s0');
  });

  it('GIVEN a policy without the /run/keepalived.* rule THEN restorecon leaves var_run_t and chcon sets the type', async () => {
    const { host, labels } = selinuxHost('Enforcing', 'var_run_t');

    await applyAll(await planKeepalivedReadableDirectory(host, dir));

    expect(host.commandLines().filter((c) => c.startsWith('restorecon') || c.startsWith('chcon'))).toEqual([
      'restorecon -F /run/keepalived-kubeha',
      'chcon -t keepalived_var_run_t /run/keepalived-kubeha',
    ]);
    expect(labels.get(dir)).toBe('system_u:object_r:keepalived_var_run_t:s0');
  });

  it('GIVEN SELinux disabled, or no getenforce at all THEN the directory is created and nothing is labelled', async () => {
    for (const reply of [{ stdout: 'Disabled\n' }, { exitCode: 127, stderr: 'getenforce: command not found' }]) {
      const host = new FakeHost().stub('getenforce', [], reply);
      const changes = await planKeepalivedReadableDirectory(host, dir);
      expect(changes.map((c) => c.description)).toEqual([
        "create /run/keepalived-kubeha (0755: the agent's verdict for keepalived)",
      ]);
      await applyAll(changes);
      expect(await planKeepalivedReadableDirectory(host, dir)).toEqual([]);
      expect(host.commandLines().some((c) => c.startsWith('restorecon') || c.startsWith('stat'))).toBe(false);
    }
  });
});
