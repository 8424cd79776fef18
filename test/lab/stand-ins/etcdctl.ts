// stand-in for etcdctl: behaves like etcdctl at its interface for the lab — member list, member remove,
// endpoint status, endpoint health (-w json or the default table) — over the lab's shared etcd member list.
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { ClusterStore } from './cluster-store.ts';
import { readNodeIdentity } from './node-identity.ts';

const store = new ClusterStore(readNodeIdentity().clusterDir);
const clusterId = '17237436991929493444';
// etcd prints uint64 ids as JSON numbers; they do not fit a JavaScript number, so they are written as text.
/** Whether something accepts connections at the URL's host and port (the member's etcd stand-in). */
function answers2379(url: string): Promise<boolean> {
  const { hostname: host, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), host);
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const decimal = (hex: string) => BigInt(`0x${hex}`).toString();

async function main(argv: string[]): Promise<number> {
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
    // --cluster asks every member at its client URL; an etcd stand-in that is not running does not answer. Without
    // it, the one member --endpoints names (the local one at 127.0.0.1).
    const at = argv.indexOf('--endpoints');
    const endpoint = at >= 0 ? argv[at + 1] : undefined;
    const named = members.find((m) => m.clientURL === endpoint);
    const asked = argv.includes('--cluster')
      ? members
      : named
        ? [named]
        : [{ ...self, clientURL: 'https://127.0.0.1:2379' }];
    const answers = await Promise.all(asked.map(async (m) => ({ member: m, up: await answers2379(m.clientURL) })));
    const leader = members[0] ?? self;
    if (verb === 'health') {
      if (json) {
        const list = answers.map((a) =>
          a.up
            ? `{"endpoint":"${a.member.clientURL}","health":true,"took":"1.2ms"}`
            : `{"endpoint":"${a.member.clientURL}","health":false,"took":"5s","error":"context deadline exceeded"}`,
        );
        process.stdout.write(`[${list.join(',')}]\n`);
      } else
        for (const a of answers)
          process.stdout.write(
            a.up
              ? `${a.member.clientURL} is healthy: successfully committed proposal: took = 1.2ms\n`
              : `${a.member.clientURL} is unhealthy: failed to commit proposal: context deadline exceeded\n`,
          );
      return answers.every((a) => a.up) ? 0 : 1;
    }
    const up = answers.filter((a) => a.up);
    if (json) {
      const list = up.map(
        (a) =>
          `{"Endpoint":"${a.member.clientURL}","Status":{"header":{"cluster_id":${clusterId},"member_id":${decimal(a.member.id)},"raft_term":${members.length + 1}},"version":"3.5.15","dbSize":2056192,"leader":${decimal(leader.id)},"raftIndex":1000,"raftTerm":${members.length + 1},"raftAppliedIndex":1000,"dbSizeInUse":2056192}}`,
      );
      process.stdout.write(`[${list.join(',')}]\n`);
    } else
      for (const a of up)
        process.stdout.write(
          `${a.member.clientURL}, ${a.member.id}, 3.5.15, 2.1 MB, ${leader.id === a.member.id}, false, ${members.length + 1}, 1000, 1000, \n`,
        );
    return up.length === answers.length ? 0 : 1;
  }
  process.stderr.write(`Error: unknown command "${words.join(' ')}" for "etcdctl" (the lab stand-in)\n`);
  return 1;
}

process.exit(await main(process.argv.slice(2)));
