import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type RunEventView, runEventsStream } from '../../coordinator/cli/run-events-stream.ts';
import { refusal } from '../sim/api-refusal.ts';
import { leakedSecrets, secretsSentToAgents } from '../sim/secret-values.ts';
import { waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simClusterSpec, simScript } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';

const t = simFleetPerTest();

const invalidDir = join(import.meta.dirname, '..', 'fixtures', 'specs-invalid');

describe('clusters and runs over REST', () => {
  it('GIVEN the invalid spec fixtures WHEN posted THEN each is refused with 400 naming the field, never a 500', async () => {
    const sim = await t.startCoordinator();
    let checked = 0;
    for (const file of readdirSync(invalidDir).filter((f) => f.endsWith('.yaml'))) {
      const text = readFileSync(join(invalidDir, file), 'utf8');
      let body: unknown;
      try {
        body = parseYaml(text);
      } catch {
        continue;
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) continue;
      const error = await refusal(sim.api.request('POST', '/v1/clusters', body));
      expect(error.status, file).toBe(400);
      const expected = /^# expect: (.+)$/m.exec(text)?.[1]?.trim();
      if (expected) {
        expect(
          (error.details as string[]).some((d) => d.includes(expected)),
          `${file}: ${JSON.stringify(error.details)}`,
        ).toBe(true);
      }
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(30);
  });

  it('GIVEN a cluster WHEN created, replaced, misused and deleted THEN the API answers 201/409/200/400/404/204 as documented', async () => {
    const sim = await t.startCoordinator();
    const { spec } = simClusterSpec({ name: 'api-a', controlPlanes: 3, workers: 1 });
    const created = await sim.api.request<{ name: string; nodes: { name: string; agentId: string | null }[] }>(
      'POST',
      '/v1/clusters',
      spec,
    );
    expect(created.name).toBe('api-a');
    expect(created.nodes.map((n) => n.name)).toEqual(['cp1', 'cp2', 'cp3', 'w1']);
    expect((await refusal(sim.api.request('POST', '/v1/clusters', spec))).status).toBe(409);
    const replaced = { ...spec, spec: { ...spec.spec, concurrency: { workers: 3 } } };
    await sim.api.request('PUT', '/v1/clusters/api-a', replaced);
    const listed = await sim.api.request<{
      clusters: { name: string; spec: { spec: { concurrency: { workers: number } } } }[];
    }>('GET', '/v1/clusters');
    expect(listed.clusters[0]?.spec.spec.concurrency.workers).toBe(3);
    expect((await refusal(sim.api.request('PUT', '/v1/clusters/other', replaced))).status).toBe(400);
    expect((await refusal(sim.api.request('POST', '/v1/clusters/api-a/runs', { kind: 'upgrade' }))).status).toBe(400);
    expect((await refusal(sim.api.request('POST', '/v1/clusters/api-a/runs', {}))).status).toBe(400);
    expect((await refusal(sim.api.request('GET', '/v1/runs/bogus'))).status).toBe(400);
    expect((await refusal(sim.api.request('GET', '/v1/runs/run-00000000-0000-0000-0000-000000000000'))).status).toBe(
      404,
    );
    expect((await refusal(sim.api.request('POST', '/v1/clusters', 'not an object'))).status).toBe(400);
    await sim.api.request('DELETE', '/v1/clusters/api-a');
    expect((await refusal(sim.api.request('GET', '/v1/clusters/api-a'))).status).toBe(404);
    const openapi = await sim.api.request<{ paths: Record<string, unknown> }>('GET', '/docs/json');
    for (const path of [
      '/v1/clusters',
      '/v1/clusters/{name}',
      '/v1/clusters/{name}/runs',
      '/v1/runs/{id}',
      '/v1/runs/{id}/cancel',
      '/v1/runs/{id}/events',
    ]) {
      expect(Object.keys(openapi.paths)).toContain(path);
    }
  });

  it('GIVEN an SSE reader that drops WHEN it reconnects with Last-Event-ID THEN it receives exactly the events it missed', async () => {
    const { sim, spec, executions } = await t.startFleet({
      name: 'sse-a',
      controlPlanes: 3,
      workers: 2,
      script: simScript({ default: 20 }),
    });
    await sim.api.request('POST', '/v1/clusters', spec);
    const run = await sim.api.request<{ id: string }>('POST', '/v1/clusters/sse-a/runs', { kind: 'deploy' });

    const first: RunEventView[] = [];
    const abort = new AbortController();
    for await (const event of runEventsStream(sim.api, run.id, undefined, abort.signal)) {
      first.push(event);
      if (first.length === 12) break;
    }
    abort.abort();
    expect(first).toHaveLength(12);
    const rest: RunEventView[] = [];
    for await (const event of runEventsStream(sim.api, run.id, first.at(-1)!.id)) rest.push(event);
    const done = await waitForRunEnd(sim.api, run.id);
    expect(done.state).toBe('succeeded');

    const all: RunEventView[] = [];
    for await (const event of runEventsStream(sim.api, run.id)) all.push(event);
    expect([...first, ...rest].map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(all.at(-1)).toMatchObject({ type: 'run', state: 'succeeded' });
    const ids = all.map((e) => e.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);

    const kubeconfig = await sim.api.request<{ kubeconfig: string }>('GET', '/v1/clusters/sse-a/kubeconfig');
    expect(kubeconfig.kubeconfig).toContain('kind: Config');
    const texts = [
      ...sim.logs,
      ...sim.replies.filter((r) => !r.includes('kind: Config')),
      ...all.map((e) => JSON.stringify(e)),
    ];
    const secrets = secretsSentToAgents(executions);
    expect(secrets.length).toBeGreaterThanOrEqual(3 + 4);
    expect(leakedSecrets(secrets, texts)).toEqual([]);
  });
});
