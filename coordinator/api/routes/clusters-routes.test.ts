import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.ts';
import { parseClusterSpec, requireClusterSpec } from '../../cluster-spec/parse-cluster-spec.ts';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import { SqliteStore } from '../../store/sqlite-store.ts';
import { buildApi } from '../build-api.ts';
import { clustersRoutes } from './clusters-routes.ts';

const adminToken = 'a'.repeat(64);
const auth = { authorization: `Bearer ${adminToken}` };

const spec = {
  apiVersion: 'kubeha.io/v1',
  kind: 'Cluster',
  metadata: { name: 'lab' },
  spec: {
    kubernetesVersion: '1.34.4',
    endpoint: { vip: '10.0.0.100', interface: 'eth0' },
    nodes: [{ name: 'cp1', address: '10.0.0.11/24', role: 'control-plane' }],
  },
};

let api: FastifyInstance;
let store: SqliteStore;

beforeEach(async () => {
  store = new SqliteStore(':memory:');
  // No route under test starts a run.
  const scheduler = {} as Scheduler;
  api = await buildApi({
    adminToken,
    logger: createLogger({ name: 'test', level: 'silent' }),
    version: 'test',
    routes: [clustersRoutes({ store, scheduler, now: () => 1_700_000_000_000 })],
  });
});

afterEach(async () => {
  await api.close();
  store.close();
});

type Schema = { properties: Record<string, Schema>; items: Schema; enum?: string[]; default?: unknown };

describe('the cluster routes in the OpenAPI document', () => {
  it('GIVEN /docs/json THEN POST and PUT take the cluster spec schema as their body, with forms and defaults', async () => {
    const document = (await api.inject({ method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: Schema }> } }>>;
    };
    for (const [path, method] of [
      ['/v1/clusters', 'post'],
      ['/v1/clusters/{name}', 'put'],
    ] as const) {
      const body = document.paths[path]?.[method]?.requestBody.content['application/json']?.schema;
      expect(body, `${method} ${path}`).toBeDefined();
      const clusterSpec = body!.properties['spec']!;
      expect(Object.keys(body!.properties)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
      expect(clusterSpec.properties['endpoint']!.properties['mode']).toMatchObject({
        enum: ['haproxy-keepalived', 'keepalived', 'external'],
        default: 'haproxy-keepalived',
      });
      expect(clusterSpec.properties['nodes']!.items.properties['role']!.enum).toEqual([
        'control-plane',
        'worker',
        'load-balancer',
      ]);
      expect(clusterSpec.properties['networking']!.properties['podCIDR']!.default).toBe('10.244.0.0/16');
    }
  });
});

describe('the cluster routes judge the body with the spec parser', () => {
  it('GIVEN a spec with problems THEN 400 KUBEHA_SPEC_INVALID lists exactly the parser problems, with their paths', async () => {
    const bad = { ...spec, extra: 1, spec: { ...spec.spec, endpoint: { vip: '10.0.0.100', port: 'x' } } };
    const reply = await api.inject({ method: 'POST', url: '/v1/clusters', headers: auth, payload: bad });
    expect(reply.statusCode).toBe(400);
    const expected = parseClusterSpec(bad);
    expect(expected.ok).toBe(false);
    expect(reply.json()).toEqual({
      error: {
        code: 'KUBEHA_SPEC_INVALID',
        message: 'the cluster spec has 3 problem(s)',
        details: expected.ok ? [] : expected.problems,
      },
    });
    expect(reply.json().error.details).toEqual([
      'extra: unknown field',
      'spec.endpoint.port: must be an integer, got "x"',
      'spec.endpoint.interface: required',
    ]);
  });

  it('GIVEN a valid spec THEN the stored spec is the parser result, defaults filled once', async () => {
    const reply = await api.inject({ method: 'PUT', url: '/v1/clusters/lab', headers: auth, payload: spec });
    expect(reply.statusCode).toBe(201);
    expect(store.clusters.get('lab')?.spec).toEqual(requireClusterSpec(spec));
  });

  it('GIVEN a bad cluster name in the URL THEN the params error is answered as before, whatever the body', async () => {
    const reply = await api.inject({ method: 'PUT', url: '/v1/clusters/Not_A_Name', headers: auth, payload: {} });
    expect(reply.statusCode).toBe(400);
    expect(reply.json().error.code).toBe('KUBEHA_BAD_REQUEST');
    expect(reply.json().error.details).toEqual([expect.stringMatching(/^params\.name: /)]);
  });
});
