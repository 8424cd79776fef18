// stand-in for kubectl: behaves like kubectl at its interface for the lab — get (json, yaml, name, wide and the
// default table; -n, -A, -l, --ignore-not-found, --raw), apply -f, create -f, delete, label, cordon/uncordon,
// version — talking HTTPS to the server of the kubeconfig (--kubeconfig, $KUBECONFIG, /etc/kubernetes/admin.conf).
import { existsSync, readFileSync } from 'node:fs';
import { parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import type { KubeObject } from './cluster-store.ts';
import { apiRequest, type Kubeconfig, readKubeconfig } from './kubeconfig.ts';
import { requirePackage } from './package-database.ts';

requirePackage('kubectl', 'kubectl');

interface ResourceInfo {
  plural: string;
  group: string;
  version: string;
  namespaced: boolean;
}

const resources: Record<string, ResourceInfo> = {};
function define(names: string[], info: ResourceInfo): void {
  for (const n of names) resources[n] = info;
}
define(['nodes', 'node', 'no'], { plural: 'nodes', group: '', version: 'v1', namespaced: false });
define(['namespaces', 'namespace', 'ns'], { plural: 'namespaces', group: '', version: 'v1', namespaced: false });
define(['pods', 'pod', 'po'], { plural: 'pods', group: '', version: 'v1', namespaced: true });
define(['secrets', 'secret'], { plural: 'secrets', group: '', version: 'v1', namespaced: true });
define(['configmaps', 'configmap', 'cm'], { plural: 'configmaps', group: '', version: 'v1', namespaced: true });
define(['services', 'service', 'svc'], { plural: 'services', group: '', version: 'v1', namespaced: true });
define(['serviceaccounts', 'serviceaccount', 'sa'], {
  plural: 'serviceaccounts',
  group: '',
  version: 'v1',
  namespaced: true,
});
define(['leases', 'lease'], { plural: 'leases', group: 'coordination.k8s.io', version: 'v1', namespaced: true });
define(['daemonsets', 'daemonset', 'ds'], { plural: 'daemonsets', group: 'apps', version: 'v1', namespaced: true });
define(['deployments', 'deployment', 'deploy'], {
  plural: 'deployments',
  group: 'apps',
  version: 'v1',
  namespaced: true,
});
define(['clusterroles', 'clusterrole'], {
  plural: 'clusterroles',
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  namespaced: false,
});
define(['clusterrolebindings', 'clusterrolebinding'], {
  plural: 'clusterrolebindings',
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  namespaced: false,
});
define(['roles', 'role'], { plural: 'roles', group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: true });
define(['rolebindings', 'rolebinding'], {
  plural: 'rolebindings',
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  namespaced: true,
});

function forKind(apiVersion: string, kind: string): ResourceInfo {
  const known = resources[kind.toLowerCase()];
  if (known) return known;
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const lower = kind.toLowerCase();
  const plural = lower.endsWith('s') ? `${lower}es` : lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : `${lower}s`;
  const clusterScoped = [
    'customresourcedefinition',
    'priorityclass',
    'storageclass',
    'podsecuritypolicy',
    'apiservice',
  ];
  return { plural, group: group ?? '', version: version ?? 'v1', namespaced: !clusterScoped.includes(lower) };
}

function collectionPath(info: ResourceInfo, namespace: string | undefined): string {
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  return info.namespaced && namespace ? `${base}/namespaces/${namespace}/${info.plural}` : `${base}/${info.plural}`;
}

class UsageError extends Error {}

interface Options {
  kubeconfig?: string;
  namespace?: string;
  allNamespaces: boolean;
  output?: string;
  selector?: string;
  ignoreNotFound: boolean;
  files: string[];
  raw?: string;
  positional: string[];
}

function parseOptions(argv: string[]): Options {
  const options: Options = { allNamespaces: false, ignoreNotFound: false, files: [], positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flagName, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = () => inline ?? argv[++i] ?? '';
    switch (flagName) {
      case '--kubeconfig':
        options.kubeconfig = value();
        break;
      case '-n':
      case '--namespace':
        options.namespace = value();
        break;
      case '-A':
      case '--all-namespaces':
        options.allNamespaces = true;
        break;
      case '-o':
      case '--output':
        options.output = value();
        break;
      case '-l':
      case '--selector':
        options.selector = value();
        break;
      case '-f':
      case '--filename':
        options.files.push(value());
        break;
      case '--raw':
        options.raw = value();
        break;
      case '--ignore-not-found':
        options.ignoreNotFound = inline === undefined || inline === 'true';
        break;
      case '--request-timeout':
      case '--timeout':
      case '--grace-period':
        value();
        break;
      default:
        if (arg.startsWith('-')) continue;
        options.positional.push(arg);
    }
  }
  return options;
}

function age(object: KubeObject): string {
  const created = Date.parse(object.metadata.creationTimestamp ?? '');
  if (Number.isNaN(created)) return '<unknown>';
  const s = Math.max(0, Math.floor((Date.now() - created) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
}

function table(info: ResourceInfo, items: KubeObject[], wide: boolean, withNamespace: boolean): string {
  const rows: string[][] = [];
  const condition = (o: KubeObject, type: string) =>
    ((o['status'] as { conditions?: { type: string; status: string }[] })?.conditions ?? []).find(
      (c) => c.type === type,
    )?.status;
  if (info.plural === 'nodes') {
    rows.push(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', ...(wide ? ['INTERNAL-IP'] : [])]);
    for (const o of items) {
      const roles = Object.keys(o.metadata.labels ?? {})
        .filter((l) => l.startsWith('node-role.kubernetes.io/'))
        .map((l) => l.slice(24));
      const status = o['status'] as {
        nodeInfo?: { kubeletVersion?: string };
        addresses?: { type: string; address: string }[];
      };
      rows.push([
        o.metadata.name,
        condition(o, 'Ready') === 'True' ? 'Ready' : 'NotReady',
        roles.join(',') || '<none>',
        age(o),
        status?.nodeInfo?.kubeletVersion ?? '',
        ...(wide ? [status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? ''] : []),
      ]);
    }
  } else if (info.plural === 'pods') {
    rows.push([...(withNamespace ? ['NAMESPACE'] : []), 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    for (const o of items) {
      const ready = condition(o, 'Ready') === 'True';
      rows.push([
        ...(withNamespace ? [o.metadata.namespace ?? ''] : []),
        o.metadata.name,
        ready ? '1/1' : '0/1',
        (o['status'] as { phase?: string })?.phase ?? 'Unknown',
        '0',
        age(o),
      ]);
    }
  } else {
    rows.push([...(withNamespace ? ['NAMESPACE'] : []), 'NAME', 'AGE']);
    for (const o of items) rows.push([...(withNamespace ? [o.metadata.namespace ?? ''] : []), o.metadata.name, age(o)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('')).join('\n');
}

/** kubectl's JSONPath for the forms scripts use: {.a.b}, {.items[0].x}, {.items[*].x} (matches joined by spaces). */
function jsonPath(object: unknown, expression: string): string {
  const inner = expression.replace(/^\{|\}$/g, '');
  let values: unknown[] = [object];
  for (const step of inner.replace(/^\./, '').split('.').filter(Boolean)) {
    const m = /^([\w-]+)(?:\[(\d+|\*)\])?$/.exec(step);
    const key = m?.[1] ?? step;
    values = values.flatMap((v) => {
      const next = (v as Record<string, unknown> | undefined)?.[key];
      if (m?.[2] === undefined) return next === undefined ? [] : [next];
      if (!Array.isArray(next)) return [];
      return m[2] === '*' ? next : next[Number(m[2])] === undefined ? [] : [next[Number(m[2])]];
    });
  }
  return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ');
}

function print(
  info: ResourceInfo,
  result: KubeObject | { items: KubeObject[]; kind?: string; apiVersion?: string },
  options: Options,
  single: boolean,
): void {
  const items: KubeObject[] = 'items' in result ? (result.items as KubeObject[]) : [result as KubeObject];
  const output = options.output ?? '';
  if (output === 'json')
    process.stdout.write(
      `${JSON.stringify(single ? result : { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items }, null, 4)}\n`,
    );
  else if (output === 'yaml')
    process.stdout.write(stringifyYaml(single ? result : { apiVersion: 'v1', kind: 'List', items }));
  else if (output === 'name')
    for (const o of items) process.stdout.write(`${info.plural.replace(/s$/, '')}/${o.metadata.name}\n`);
  else if (output.startsWith('jsonpath=')) process.stdout.write(jsonPath(single ? result : { items }, output.slice(9)));
  else if (items.length === 0)
    process.stderr.write(`No resources found${options.namespace ? ` in ${options.namespace} namespace` : ''}.\n`);
  else process.stdout.write(`${table(info, items, output === 'wide', options.allNamespaces)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const path = options.kubeconfig ?? process.env['KUBECONFIG'] ?? '/etc/kubernetes/admin.conf';
  if (!existsSync(path)) {
    process.stderr.write(
      'E0000 memcache.go:265] couldn\'t get current server API group list: Get "http://localhost:8080/api?timeout=32s": dial tcp [::1]:8080: connect: connection refused\nThe connection to the server localhost:8080 was refused - did you specify the right host or port?\n',
    );
    return 1;
  }
  const kubeconfig: Kubeconfig = readKubeconfig(path);
  const [verb, ...args] = options.positional;
  const namespace = options.allNamespaces ? undefined : (options.namespace ?? 'default');
  const failed = (reply: { status: number; body: string }) => {
    let message = reply.body;
    try {
      message = (JSON.parse(reply.body) as { message?: string }).message ?? reply.body;
    } catch {
      // Not JSON.
    }
    const reason =
      reply.status === 404
        ? 'NotFound'
        : reply.status === 409
          ? 'AlreadyExists'
          : reply.status === 401
            ? 'Unauthorized'
            : reply.status === 403
              ? 'Forbidden'
              : 'InternalError';
    process.stderr.write(`Error from server (${reason}): ${message}\n`);
    return 1;
  };
  try {
    switch (verb) {
      case 'get': {
        if (options.raw) {
          const reply = await apiRequest(kubeconfig, 'GET', options.raw);
          if (reply.status >= 300) return failed(reply);
          process.stdout.write(reply.body);
          return 0;
        }
        const [type, ...names] = (args[0] ?? '').includes('/') ? (args[0] ?? '').split('/') : args;
        const info = resources[type ?? ''];
        if (!info) throw new UsageError(`error: the server doesn't have a resource type "${type ?? ''}"`);
        const base = collectionPath(info, namespace);
        if (names.length === 0) {
          const query = options.selector ? `?labelSelector=${encodeURIComponent(options.selector)}` : '';
          const reply = await apiRequest(kubeconfig, 'GET', `${base}${query}`);
          if (reply.status >= 300) return failed(reply);
          print(info, reply.json() as KubeObject, options, false);
          return 0;
        }
        const found: KubeObject[] = [];
        let code = 0;
        for (const name of names) {
          const reply = await apiRequest(kubeconfig, 'GET', `${base}/${name}`);
          if (reply.status === 404 && options.ignoreNotFound) continue;
          if (reply.status >= 300) code = failed(reply);
          else found.push(reply.json() as KubeObject);
        }
        if (found.length > 0)
          print(info, names.length === 1 ? found[0]! : { items: found }, options, names.length === 1);
        return code;
      }
      case 'rollout': {
        // rollout status daemonset/NAME [--timeout=Ns]: every node runs a Ready pod of the DaemonSet.
        const [sub, target] = args;
        const [kind, name] = (target ?? '').split('/');
        if (sub !== 'status' || (kind !== 'daemonset' && kind !== 'ds') || !name) {
          throw new UsageError('error: the lab stand-in supports "rollout status daemonset/NAME"');
        }
        const timeoutArg = argv.find((a) => a.startsWith('--timeout='))?.slice(10) ?? '300s';
        const deadline = Date.now() + Number.parseInt(timeoutArg, 10) * (timeoutArg.endsWith('m') ? 60_000 : 1000);
        const ds = await apiRequest(kubeconfig, 'GET', `/apis/apps/v1/namespaces/${namespace}/daemonsets/${name}`);
        if (ds.status >= 300) return failed(ds);
        for (;;) {
          const nodes = (await apiRequest(kubeconfig, 'GET', '/api/v1/nodes')).json() as { items: KubeObject[] };
          const pods = (await apiRequest(kubeconfig, 'GET', `/api/v1/namespaces/${namespace}/pods`)).json() as {
            items: KubeObject[];
          };
          const ready = pods.items.filter(
            (p) => p.metadata.name.startsWith(`${name}-`) && (p['status'] as { phase?: string })?.phase === 'Running',
          ).length;
          const desired = nodes.items.length;
          if (ready >= desired && desired > 0) {
            process.stdout.write(`daemon set "${name}" successfully rolled out\n`);
            return 0;
          }
          process.stdout.write(
            `Waiting for daemon set "${name}" rollout to finish: ${ready} of ${desired} updated pods are available...\n`,
          );
          if (Date.now() > deadline) {
            process.stderr.write('error: timed out waiting for the condition\n');
            return 1;
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      case 'apply':
      case 'create': {
        for (const file of options.files) {
          const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
          for (const doc of parseAllDocuments(text)) {
            const object = doc.toJSON() as KubeObject | null;
            if (!object?.kind) continue;
            const info = forKind(object.apiVersion, object.kind);
            const ns = info.namespaced ? (object.metadata.namespace ?? options.namespace ?? 'default') : undefined;
            const body = { ...object, metadata: { ...object.metadata, ...(ns ? { namespace: ns } : {}) } };
            const base = collectionPath(info, ns);
            const existing = await apiRequest(kubeconfig, 'GET', `${base}/${object.metadata.name}`);
            let action = 'created';
            let reply: Awaited<ReturnType<typeof apiRequest>>;
            if (existing.status === 200) {
              if (verb === 'create')
                return failed({ status: 409, body: `${info.plural} "${object.metadata.name}" already exists` });
              reply = await apiRequest(kubeconfig, 'PUT', `${base}/${object.metadata.name}`, body);
              action =
                JSON.stringify((existing.json() as KubeObject)['spec']) === JSON.stringify(object['spec'])
                  ? 'unchanged'
                  : 'configured';
            } else reply = await apiRequest(kubeconfig, 'POST', base, body);
            if (reply.status >= 300) return failed(reply);
            const singular = info.group ? `${object.kind.toLowerCase()}.${info.group}` : object.kind.toLowerCase();
            process.stdout.write(`${singular}/${object.metadata.name} ${action}\n`);
          }
        }
        return 0;
      }
      case 'delete': {
        const [type, name] = (args[0] ?? '').includes('/') ? (args[0] ?? '').split('/') : [args[0], args[1]];
        const info = resources[type ?? ''];
        if (!info || !name) throw new UsageError('error: resource(s) were provided, but no name was specified');
        const reply = await apiRequest(kubeconfig, 'DELETE', `${collectionPath(info, namespace)}/${name}`);
        if (reply.status === 404 && options.ignoreNotFound) return 0;
        if (reply.status >= 300) return failed(reply);
        process.stdout.write(`${type?.replace(/s$/, '')} "${name}" deleted\n`);
        return 0;
      }
      case 'label':
      case 'cordon':
      case 'uncordon': {
        const info = verb === 'label' ? resources[args[0] ?? ''] : resources['nodes'];
        const name = verb === 'label' ? args[1] : args[0];
        if (!info || !name) throw new UsageError(`error: ${verb} needs a resource and a name`);
        const patch =
          verb === 'label'
            ? {
                metadata: {
                  labels: Object.fromEntries(
                    args.slice(2).map((l) => (l.endsWith('-') ? [l.slice(0, -1), null] : l.split('='))),
                  ),
                },
              }
            : { spec: { unschedulable: verb === 'cordon' ? true : null } };
        const reply = await apiRequest(kubeconfig, 'PATCH', `${collectionPath(info, namespace)}/${name}`, patch);
        if (reply.status >= 300) return failed(reply);
        process.stdout.write(
          `${info.plural.replace(/s$/, '')}/${name} ${verb === 'label' ? 'labeled' : verb === 'cordon' ? 'cordoned' : 'uncordoned'}\n`,
        );
        return 0;
      }
      case 'version': {
        const reply = await apiRequest(kubeconfig, 'GET', '/version');
        const server = reply.json() as { gitVersion?: string };
        process.stdout.write(
          `Client Version: v1.34.4\nKustomize Version: v5.4.2\nServer Version: ${server.gitVersion ?? 'unknown'}\n`,
        );
        return 0;
      }
      case 'cluster-info':
        process.stdout.write(`Kubernetes control plane is running at ${kubeconfig.server}\n`);
        return 0;
      default:
        throw new UsageError(`error: unknown command "${verb ?? ''}" for "kubectl" (the lab stand-in)`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    const url = new URL(kubeconfig.server);
    process.stderr.write(`Unable to connect to the server: dial tcp ${url.host}: ${(error as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
