import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { FoundationHarness } from '../support/foundation-harness.ts';
import { waitFor } from '../support/wait-for.ts';

describe('logs', () => {
  const h = new FoundationHarness();
  afterAll(() => h.close());

  it('GIVEN enrollment, sessions, a failed enrollment and revocation THEN no log line holds a token secret or key material', async () => {
    await h.startCoordinator();
    const token = await h.createToken({ usageLimit: 1 });
    const enrolled = await h.enrollAgent('node-1', token.token);
    const agent = h.runAgent(h.agentConfig(enrolled.configPath), 'node-1');
    await waitFor('a session', () => agent.session.connected || undefined);
    await h.enrollAgent('node-2', token.token).catch(() => {});
    await h.api('DELETE', `/v1/agents/${enrolled.agentId}`);
    await new Promise((r) => setTimeout(r, 300));

    const log = h.logLines.join('\n');
    expect(h.logLines.length).toBeGreaterThan(5);
    expect(log).toContain('agent enrolled');
    const secrets = [
      token.token,
      token.token.split('.')[1]!,
      h.coordinator.adminToken,
      readFileSync(`${h.dataDir}/ca.key`, 'utf8').split('\n')[1]!,
      readFileSync(`${h.dataDir}/gateway.key`, 'utf8').split('\n')[1]!,
      readFileSync(`${enrolled.stateDir}/agent.key`, 'utf8').split('\n')[1]!,
    ];
    for (const secret of secrets) expect(log).not.toContain(secret);
    expect(log).not.toMatch(/PRIVATE KEY/);
  });
});
