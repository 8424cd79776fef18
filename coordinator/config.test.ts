import { describe, expect, it } from 'vitest';
import { parseCoordinatorConfig } from './config.ts';

describe('coordinator config', () => {
  it('defaults to the documented ports and paths', () => {
    const config = parseCoordinatorConfig({}, 'defaults');
    expect(config.grpc.listen).toBe('0.0.0.0:7443');
    expect(config.api.listen).toBe('127.0.0.1:7444');
    expect(config.dataDir).toBe('/var/lib/kubeha-coordinator');
  });

  it('names every bad field', () => {
    const bad = () => parseCoordinatorConfig({ grpc: { listen: 'nowhere', extra: 1 } }, 'c.yaml');
    expect(bad).toThrow(/c\.yaml is invalid/);
    expect(bad).toThrow(/grpc\.listen: must match pattern/);
    expect(bad).toThrow(/grpc\.extra: unknown field/);
    expect(() => parseCoordinatorConfig({ api: { listen: '127.0.0.1:99999' } }, 'c.yaml')).toThrow(
      /api\.listen: port 99999/,
    );
  });

  it('warns about certificates at 30 and 7 days unless configured, and refuses a critical threshold above the warning one', () => {
    expect(parseCoordinatorConfig({}, 'defaults').certificates).toEqual({ warningDays: 30, criticalDays: 7 });
    expect(parseCoordinatorConfig({ certificates: { warningDays: 60 } }, 'c.yaml').certificates).toEqual({
      warningDays: 60,
      criticalDays: 7,
    });
    expect(() => parseCoordinatorConfig({ certificates: { warningDays: 7, criticalDays: 7 } }, 'c.yaml')).toThrow(
      /certificates\.criticalDays \(7\) must be less than certificates\.warningDays \(7\)/,
    );
  });
});
