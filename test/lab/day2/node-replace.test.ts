import { describe, expect, it } from 'vitest';
import { renderHaproxyConfig } from '../../../agent/load-balancer/haproxy-config.ts';
import { renderKeepalivedConfig } from '../../../agent/load-balancer/keepalived-config.ts';
import { loadBalancerView, longestOutageS } from './node-replace.ts';

describe('loadBalancerView', () => {
  it('GIVEN the configurations the agent renders WHEN read THEN the HAProxy backends and keepalived peers are its addresses', () => {
    const haproxy = renderHaproxyConfig({
      lbPort: 16443,
      apiserverOnThisNode: true,
      backends: [
        { name: 'cp1', address: '10.77.0.11' },
        { name: 'cp2', address: '10.77.0.12' },
        { name: 'cp4', address: 'fd00::14' },
      ],
      checkIntervalMs: 2000,
      checkFall: 2,
      checkRise: 2,
    });
    const keepalived = renderKeepalivedConfig({
      nodeName: 'cp1',
      interface: 'eth0',
      virtualRouterId: 51,
      priority: 220,
      vip: '10.77.0.100',
      vipPrefixLength: 24,
      authPass: 'Xy7pQ2wz',
      multicast: false,
      unicastSrcIp: '10.77.0.11',
      unicastPeers: ['10.77.0.14', '10.77.0.12'],
      nodeAddresses: ['10.77.0.11', '10.77.0.12', '10.77.0.14'],
      advertIntS: 1,
      preempt: false,
      check: {
        command: ['/usr/libexec/kubeha/check-apiserver'],
        intervalS: 1,
        timeoutS: 3,
        fall: 2,
        rise: 2,
        weight: 0,
      },
      trackFile: '/run/keepalived-kubeha/vrrp-status',
    });
    expect(loadBalancerView(haproxy, keepalived)).toEqual({
      backends: ['10.77.0.11', '10.77.0.12', 'fd00::14'],
      peers: ['10.77.0.12', '10.77.0.14'],
    });
  });

  it('GIVEN no unicast peers (a lone holder uses multicast) WHEN read THEN no peers', () => {
    expect(loadBalancerView('    server cp1 10.0.0.1:6443 check\n', 'vrrp_instance X {\n}\n')).toEqual({
      backends: ['10.0.0.1'],
      peers: [],
    });
  });
});

describe('longestOutageS', () => {
  it('GIVEN outages around a kill at 1,000 ms THEN the failover window and the rest are measured apart', () => {
    const outages = [
      { fromMs: 1_200, ms: 2_900 },
      { fromMs: 9_000, ms: 1_400 },
      { fromMs: 30_000, ms: 600 },
    ];
    expect(longestOutageS(outages, 1_000, (s) => s <= 5)).toBe(2.9);
    expect(longestOutageS(outages, 1_000, (s) => s > 5)).toBe(1.4);
    expect(longestOutageS([], 1_000, () => true)).toBe(0);
  });
});
