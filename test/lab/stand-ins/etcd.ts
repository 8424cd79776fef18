// stand-in for etcd: behaves like an etcd member at its interface for the lab — a process in the etcd static pod
// that holds the client and peer ports; the data it would keep is the lab's shared cluster store.
import { createServer } from 'node:net';

const advertise =
  process.argv
    .find((a) => a.startsWith('--advertise-client-urls='))
    ?.split('//')[1]
    ?.split(':')[0] ?? '127.0.0.1';
const servers = [2379, 2380].map((port) =>
  createServer((socket) => socket.destroy()).listen(port, port === 2379 ? '127.0.0.1' : advertise),
);
const loopbackOnAdvertise = advertise === '127.0.0.1' ? [] : [createServer((s) => s.destroy()).listen(2379, advertise)];
process.on('SIGTERM', () => {
  for (const s of [...servers, ...loopbackOnAdvertise]) s.close();
  process.exit(0);
});
