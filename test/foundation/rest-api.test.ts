import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FoundationHarness } from '../support/foundation-harness.ts';

let h: FoundationHarness;

beforeAll(async () => {
  h = new FoundationHarness();
  await h.startCoordinator();
});

afterAll(async () => {
  await h.close();
});

function expectErrorShape(body: unknown, code: string) {
  expect(body).toMatchObject({ error: { code, message: expect.any(String) } });
}

describe('REST API authentication', () => {
  it('GIVEN no token or a wrong token THEN every /v1 route answers 401 with the error shape', async () => {
    for (const [method, url] of [
      ['GET', '/v1/agents'],
      ['GET', '/v1/agents/agent-00000000-0000-0000-0000-000000000000'],
      ['DELETE', '/v1/agents/agent-00000000-0000-0000-0000-000000000000'],
      ['GET', '/v1/tokens'],
      ['POST', '/v1/tokens'],
      ['DELETE', '/v1/tokens/abcdef'],
    ] as const) {
      const none = await h.coordinator.api.inject({ method, url });
      expect(none.statusCode, `${method} ${url} without token`).toBe(401);
      expectErrorShape(none.json(), 'KUBEHA_UNAUTHORIZED');
      const wrong = await h.api(method, url, undefined, 'not-the-token');
      expect(wrong.status, `${method} ${url} with a wrong token`).toBe(401);
      expectErrorShape(wrong.body, 'KUBEHA_UNAUTHORIZED');
    }
  });

  it('GIVEN a first start THEN the admin token is 256 random bits in hex, never starting with a dash that a CLI would read as an option', () => {
    expect(h.coordinator.adminToken).toMatch(/^[0-9a-f]{64}$/);
  });

  it('GIVEN no token THEN /healthz and the OpenAPI document are still served', async () => {
    const health = await h.coordinator.api.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ status: 'ok' });
    const openapi = await h.coordinator.api.inject({ method: 'GET', url: '/docs/json' });
    expect(openapi.statusCode).toBe(200);
    const paths = Object.keys((openapi.json() as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(
      expect.arrayContaining(['/v1/agents', '/v1/agents/{id}', '/v1/tokens', '/v1/tokens/{id}', '/healthz']),
    );
  });
});

describe('REST API input errors are 4xx with the error shape, never 500', () => {
  it('malformed JSON is a 400', async () => {
    const r = await h.coordinator.api.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: { authorization: `Bearer ${h.coordinator.adminToken}`, 'content-type': 'application/json' },
      payload: '{"ttlSeconds": 60,',
    });
    expect(r.statusCode).toBe(400);
    expectErrorShape(r.json(), 'KUBEHA_BAD_REQUEST');
  });

  it('wrong types are a 400 naming the field', async () => {
    const r = await h.api('POST', '/v1/tokens', { ttlSeconds: 'an hour' });
    expect(r.status).toBe(400);
    expectErrorShape(r.body, 'KUBEHA_BAD_REQUEST');
    expect(JSON.stringify(r.body)).toContain('ttlSeconds');
  });

  it('unknown fields are a 400 naming the field', async () => {
    const r = await h.api('POST', '/v1/tokens', { ttlSeconds: 600, colour: 'blue' });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('colour');
  });

  it('out-of-range values, bad ids and unknown routes are 4xx', async () => {
    expect((await h.api('POST', '/v1/tokens', { usageLimit: 0 })).status).toBe(400);
    expect((await h.api('GET', '/v1/agents/NOT_AN_ID!')).status).toBe(400);
    expect((await h.api('GET', '/v1/agents/agent-00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await h.api('DELETE', '/v1/tokens/zzzzzz')).status).toBe(404);
    const unknown = await h.api('GET', '/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expectErrorShape(unknown.body, 'KUBEHA_NOT_FOUND');
  });
});

describe('bootstrap tokens', () => {
  it('GIVEN a created token THEN the secret is returned once and never listed', async () => {
    const created = await h.createToken({ description: 'rack 4', ttlSeconds: 3600, usageLimit: 5 });
    expect(created.token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(created.caCertHash).toBe(h.coordinator.caCertHash);
    const listed = await h.api<{ tokens: { id: string; usageLimit: number; description: string }[] }>(
      'GET',
      '/v1/tokens',
    );
    expect(listed.raw).not.toContain(created.token.split('.')[1]);
    expect(listed.body.tokens.find((t) => t.id === created.id)).toMatchObject({ usageLimit: 5, description: 'rack 4' });
    const stored = h.coordinator.store.tokens.get(created.id);
    expect(stored?.secretHash).not.toContain(created.token.split('.')[1]);

    expect((await h.api('DELETE', `/v1/tokens/${created.id}`)).status).toBe(204);
    expect(h.coordinator.store.tokens.get(created.id)).toBeUndefined();
  });
});
