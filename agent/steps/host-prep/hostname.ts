import type { HostPrepPart } from './host-prep-params.ts';

/** The node's name, now (the running hostname) and after reboot (/etc/hostname): hostnamectl sets both. */
export const hostnamePart: HostPrepPart = {
  name: 'hostname',
  async plan({ host, params }) {
    const configured = ((await host.readFile('/etc/hostname')) ?? '').trim();
    const running = (await host.facts()).hostname;
    if (configured === params.hostname && running === params.hostname) return [];
    return [
      {
        description: `set the hostname to ${params.hostname} (hostnamectl set-hostname)`,
        apply: async () => void (await host.exec('hostnamectl', ['set-hostname', params.hostname])),
      },
    ];
  },
};
