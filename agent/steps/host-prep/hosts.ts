import { renderHostsBlock, withHostsBlock } from '../../host-files/hosts-block.ts';
import { ensureFile } from '../../os-actions/ensure-file.ts';
import type { HostPrepPart } from './host-prep-params.ts';

/** Every node of the cluster by name in kubeha's own block of /etc/hosts; the rest of the file is left as it is. */
export const hostsPart: HostPrepPart = {
  name: 'hosts',
  async plan({ host, params }) {
    if (params.nodes.length === 0) return [];
    const current = (await host.readFile('/etc/hosts')) ?? '';
    const hosts = await ensureFile(host, {
      path: '/etc/hosts',
      content: withHostsBlock(current, renderHostsBlock(params.nodes)),
      mode: 'keep',
      description: `write the kubeha block of /etc/hosts (${params.nodes.length} nodes)`,
    });
    return hosts.changes;
  },
};
