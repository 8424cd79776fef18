import { ensureFile } from '../../os-actions/ensure-file.ts';
import type { PlannedChange, StepContext } from '../../step-execution/step.ts';
import type { HostPrepParams, HostPrepPart } from './host-prep-params.ts';

/** The check script keepalived runs; labelled so it runs unconfined instead of in keepalived_t. */
export const checkScriptPath = '/usr/libexec/kubeha/check-apiserver';
export const checkScriptType = 'keepalived_unconfined_script_exec_t';

/** Booleans an enforcing node needs, by what runs on it. */
export function selinuxBooleansFor(params: Pick<HostPrepParams, 'lbPort' | 'role' | 'keepalived'>): string[] {
  return [
    // HAProxy binds its frontend and connects to the apiservers on ports its policy does not name.
    ...(params.lbPort > 0 && params.role !== 'worker' ? ['haproxy_connect_any'] : []),
    // keepalived_t may not connect to arbitrary ports: the check script's fallback probe of the endpoint needs it
    // should the script run confined (an unlabelled script, or a policy without the unconfined script type).
    ...(params.keepalived ? ['keepalived_connect_any'] : []),
  ];
}

async function enforcingChanges(ctx: StepContext<HostPrepParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const changes: PlannedChange[] = [];
  for (const name of selinuxBooleansFor(params)) {
    const current = (await host.exec('getsebool', [name], { allowFailure: true })).stdout;
    if (!/-->\s*on\b/.test(current)) {
      changes.push({
        description: `set the SELinux boolean ${name} on, now and after reboot (setsebool -P ${name} 1)`,
        apply: async () => void (await host.exec('setsebool', ['-P', name, '1'])),
      });
    }
  }
  if (params.keepalived && (await host.exists(checkScriptPath))) {
    const rules = (await host.exec('semanage', ['fcontext', '--list', '--locallist'])).stdout;
    const ruled = rules
      .split('\n')
      .some((l) => l.startsWith(`${checkScriptPath} `) && l.includes(`:${checkScriptType}:`));
    if (!ruled) {
      changes.push({
        description: `label ${checkScriptPath} ${checkScriptType} (semanage fcontext -a)`,
        apply: async () =>
          void (await host.exec('semanage', ['fcontext', '--add', '--type', checkScriptType, checkScriptPath])),
      });
    }
    const label = (await host.exec('stat', ['-c', '%C', checkScriptPath])).stdout.trim();
    if (!ruled || label.split(':')[2] !== checkScriptType) {
      changes.push({
        description: `relabel ${checkScriptPath} (restorecon -F; now ${label || 'unlabelled'})`,
        apply: async () => void (await host.exec('restorecon', ['-F', checkScriptPath])),
      });
    }
  }
  return changes;
}

/**
 * permissive (the default): SELinux permissive now and in /etc/selinux/config. enforcing: left on, with the booleans
 * and the check script's label HAProxy and keepalived need. A host without SELinux is left alone.
 */
export const selinuxPart: HostPrepPart = {
  name: 'selinux',
  async plan(ctx) {
    const { host, params } = ctx;
    const config = await host.readFile('/etc/selinux/config');
    if (config === undefined) return [];
    const mode = (await host.exec('getenforce', [])).stdout.trim();
    if (params.selinux === 'enforcing') return mode === 'Disabled' ? [] : enforcingChanges(ctx);
    const changes: PlannedChange[] = [];
    if (mode === 'Enforcing') {
      changes.push({
        description: 'set SELinux permissive now (setenforce 0)',
        apply: async () => void (await host.exec('setenforce', ['0'])),
      });
    }
    const permissive = await ensureFile(host, {
      path: '/etc/selinux/config',
      content: config.replace(/^SELINUX=enforcing[ \t]*$/m, 'SELINUX=permissive'),
      mode: 'keep',
      description: 'set SELINUX=permissive in /etc/selinux/config',
    });
    changes.push(...permissive.changes);
    return changes;
  },
};
