// stand-in for etcdctl: behaves like etcdctl at its interface for the lab — member list, member remove,
// endpoint status, endpoint health (-w json or the default table) — over the lab's shared etcd member list.
import { hostname } from 'node:os';
import { ClusterStore } from './cluster-store.ts';
import { readNodeIdentity } from './node-identity.ts';

const store = new ClusterStore(readNodeIdentity().clusterDir);
const clusterId = '17237436991929493444';
// etcd prints uint64 ids as JSON numbers; they do not fit a JavaScript number, so they are written as text.
const decimal = (hex: string) => BigInt(`0x${hex}`).toString();

function main(argv: string[]): number {
  const json =
    argv.some((a, i) => (a === '-w' || a === '--write-out') && argv[i + 1] === 'json') ||
    argv.includes('--write-out=json');
  const words = argv.filter(
    (a, i) =>
      !a.startsWith('-') &&
      !['--endpoints', '--cacert', '--cert', '--key', '-w', '--write-out'].includes(argv[i - 1] ?? ''),
  );
  const members = store.etcdMembers();
  const self = members.find((m) => m.name === hostname());
  const header = `{"cluster_id":${clusterId},"member_id":${self ? decimal(self.id) : 0},"raft_term":${members.length + 1}}`;
  const [group, verb, arg] = words;
  if (group === 'member' && verb === 'list') {
    if (json) {
      const list = members.map(
        (m) => `{"ID":${decimal(m.id)},"name":"${m.name}","peerURLs":["${m.peerURL}"],"clientURLs":["${m.clientURL}"]}`,
      );
      process.stdout.write(`{"header":${header},"members":[${list.join(',')}]}\n`);
    } else
      for (const m of members)
        process.stdout.write(`${m.id}, started, ${m.name}, ${m.peerURL}, ${m.clientURL}, false\n`);
    return 0;
  }
  if (group === 'member' && verb === 'remove') {
    const id = (arg ?? '').toLowerCase();
    if (!store.removeEtcdMember(id)) {
      process.stderr.write(`Error: etcdserver: member not found\n`);
      return 1;
    }
    process.stdout.write(`Member ${id} removed from cluster ${BigInt(clusterId).toString(16)}\n`);
    return 0;
  }
  if (group === 'endpoint' && (verb === 'status' || verb === 'health')) {
    if (!self) {
      process.stderr.write(
        '{"level":"warn","msg":"retrying of unary invoker failed","error":"rpc error: code = Unavailable desc = connection refused"}\nError: context deadline exceeded\n',
      );
      return 1;
    }
    if (verb === 'health') {
      process.stdout.write(
        json
          ? `[{"endpoint":"https://127.0.0.1:2379","health":true,"took":"1.2ms"}]\n`
          : 'https://127.0.0.1:2379 is healthy: successfully committed proposal: took = 1.2ms\n',
      );
      return 0;
    }
    const leader = members[0] ?? self;
    if (json) {
      process.stdout.write(
        `[{"Endpoint":"https://127.0.0.1:2379","Status":{"header":${header},"version":"3.5.15","dbSize":2056192,"leader":${decimal(leader.id)},"raftIndex":1000,"raftTerm":${members.length + 1},"raftAppliedIndex":1000,"dbSizeInUse":2056192}}]\n`,
      );
    } else
      process.stdout.write(
        `https://127.0.0.1:2379, ${self.id}, 3.5.15, 2.1 MB, ${leader.id === self.id}, false, ${members.length + 1}, 1000, 1000, \n`,
      );
    return 0;
  }
  process.stderr.write(`Error: unknown command "${words.join(' ')}" for "etcdctl" (the lab stand-in)\n`);
  return 1;
}

process.exit(main(process.argv.slice(2)));
