// stand-in for ctr: behaves like ctr at its interface for the lab — `ctr [--address S] plugins ls` answers with
// containerd's plugin table when the containerd socket accepts connections, and fails like ctr when it does not.
import { connect } from 'node:net';
import { requirePackage } from './package-database.ts';

requirePackage('containerd.io', 'ctr');
const argv = process.argv.slice(2);
const at = argv.findIndex((a) => a === '--address' || a === '-a');
const address = at >= 0 ? argv[at + 1]! : '/run/containerd/containerd.sock';
const words = argv.filter((a, i) => !a.startsWith('-') && i !== at + 1);

const socket = connect(address);
socket.once('connect', () => {
  socket.destroy();
  if (words[0] === 'plugins' || words[0] === 'plugin') {
    process.stdout.write(`TYPE                                   ID                       PLATFORMS      STATUS
io.containerd.content.v1               content                  -              ok
io.containerd.snapshotter.v1           overlayfs                linux/amd64    ok
io.containerd.runtime.v2               task                     linux/amd64    ok
io.containerd.grpc.v1                  cri                      linux/amd64    ok
`);
    process.exit(0);
  }
  if (words[0] === 'version') {
    process.stdout.write('Client:\n  Version:  1.7.25\n\nServer:\n  Version:  1.7.25\n');
    process.exit(0);
  }
  process.stderr.write(`ctr: unknown command "${words[0] ?? ''}" (the lab stand-in)\n`);
  process.exit(1);
});
socket.once('error', (error: NodeJS.ErrnoException) => {
  process.stderr.write(
    `ctr: failed to dial "${address}": context deadline exceeded: connection error: desc = "transport: error while dialing: dial unix ${address}: connect: ${error.code === 'ENOENT' ? 'no such file or directory' : 'connection refused'}"\n`,
  );
  process.exit(1);
});
