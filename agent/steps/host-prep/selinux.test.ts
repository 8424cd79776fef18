import { describe, expect, it } from 'vitest';
import { runStep } from '../../step-execution/step-runner.ts';
import { hostPrepStep } from '../host-prep.ts';
import { cpParams, cpPorts, freshNode, sideEffects, stubFirewallAdds } from './host-prep-node.fixture.ts';
import { checkScriptPath, checkScriptType, selinuxBooleansFor } from './selinux.ts';

describe('host-prep selinux', () => {
  it('GIVEN SELinux enforcing on a control plane running keepalived and HAProxy THEN it sets both booleans and labels the check script, once', async () => {
    const { host, state } = freshNode('rocky-9');
    stubFirewallAdds(host, state, cpPorts, ['rule protocol value="vrrp" accept']);
    const booleans: Record<string, string> = { haproxy_connect_any: 'off', keepalived_connect_any: 'off' };
    let localRules = '';
    let label = 'system_u:object_r:bin_t:s0';
    host.setFile('/usr/libexec/kubeha/check-apiserver', '#!/bin/sh\n', 0o755);
    for (const name of Object.keys(booleans)) {
      host.stub('getsebool', [name], { stdout: () => `${name} --> ${booleans[name]}\n` });
      host.stub('setsebool', ['-P', name, '1'], {
        effect: () => {
          booleans[name] = 'on';
        },
      });
    }
    host
      .stub('semanage', ['fcontext', '--list', '--locallist'], { stdout: () => localRules })
      .stub('semanage', ['fcontext', '--add', '--type', checkScriptType, checkScriptPath], {
        effect: () => {
          localRules = `${checkScriptPath}    all files    system_u:object_r:${checkScriptType}:s0\n`;
        },
      })
      .stub('stat', ['-c', '%C', checkScriptPath], { stdout: () => `${label}\n` })
      .stub('restorecon', ['-F', checkScriptPath], {
        effect: () => {
          if (localRules) label = `system_u:object_r:${checkScriptType}:s0`;
        },
      });
    const params = { ...cpParams, selinux: 'enforcing', keepalived: true };
    const first = await runStep(hostPrepStep, params, { host });
    expect(first.error).toBeUndefined();
    expect(sideEffects(host).filter((l) => /sebool|semanage|restorecon|setenforce/.test(l))).toEqual([
      'setsebool -P haproxy_connect_any 1',
      'setsebool -P keepalived_connect_any 1',
      `semanage fcontext --add --type ${checkScriptType} ${checkScriptPath}`,
      `restorecon -F ${checkScriptPath}`,
    ]);
    expect(host.file('/etc/selinux/config')).toContain('SELINUX=enforcing');
    host.clearRecords();
    const second = await runStep(hostPrepStep, params, { host });
    expect(second).toMatchObject({ outcome: 'succeeded', changed: false });
    // AND a worker (no keepalived, no HAProxy) needs none of it
    expect(selinuxBooleansFor({ role: 'worker', lbPort: 0, keepalived: false })).toEqual([]);
  });
});
