import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from './config.ts';

const valid = `
agentId: agent-04432837-252f-441c-b122-4fe707bb1e67
coordinator: admin.example.com:7443
tls:
  caFile: /var/lib/kubeha/ca.crt
  certFile: /var/lib/kubeha/agent.crt
  keyFile: /var/lib/kubeha/agent.key
`;

describe('agent config', () => {
  it('fills defaults and freezes', () => {
    const config = parseAgentConfig(valid, 'agent.yaml');
    expect(config.health.listen).toBe('127.0.0.1:7445');
    expect(config.heartbeatIntervalSeconds).toBe(5);
    expect(config.reconnect).toEqual({ minSeconds: 1, maxSeconds: 30 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('says what is wrong and where, all at once', () => {
    const text = `${valid.replace('admin.example.com:7443', 'not an address')}\ncolour: blue\nheartbeatIntervalSeconds: -1\n`;
    let message = '';
    try {
      parseAgentConfig(text, '/etc/kubeha/agent.yaml');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('/etc/kubeha/agent.yaml is invalid');
    expect(message).toContain('coordinator:');
    expect(message).toContain('colour: unknown field');
    expect(message).toContain('heartbeatIntervalSeconds:');
  });

  it('refuses text that is not YAML or not a mapping', () => {
    expect(() => parseAgentConfig('a: [', 'x.yaml')).toThrow(/not valid YAML/);
    expect(() => parseAgentConfig('- a', 'x.yaml')).toThrow(/expected a mapping/);
  });
});
