import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultFakeFacts } from '../../agent/host/fake-host.ts';
import { LocalHost } from '../../agent/host/local-host.ts';
import { runStep } from '../../agent/step-execution/step-runner.ts';
import { preflightStep } from '../../agent/steps/preflight.ts';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

describe('preflight with the real ss', () => {
  it('GIVEN this test holds the HAProxy port on 127.0.0.1 THEN preflight names the port and the pid holding it', async () => {
    const listening = createServer();
    server = listening;
    const port = await new Promise<number>((resolve) => {
      listening.listen(0, '127.0.0.1', () => resolve((listening.address() as { port: number }).port));
    });
    const host = new LocalHost({ facts: async () => defaultFakeFacts });
    const result = await runStep(
      preflightStep,
      { role: 'load-balancer', kubernetesVersion: '1.31.4', lbPort: port },
      { host },
    );
    expect(result.outcome).toBe('failed');
    // The name ss shows is the listening thread's (node, or the test worker's thread name).
    expect(result.error?.message).toMatch(new RegExp(`port ${port}/tcp is in use by \\S+ \\(pid ${process.pid}\\)`));
  });
});
