import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { readyzCurlArgs } from './apiserver-readyz.fixture.ts';
import { getReadyz, hostPort, readyzProblem } from './apiserver-readyz.ts';

describe('apiserver /readyz', () => {
  it('GIVEN an IPv6 address THEN it is bracketed in host:port', () => {
    expect(hostPort('fd00::11', 6443)).toBe('[fd00::11]:6443');
    expect(hostPort('10.0.0.11', 6443)).toBe('10.0.0.11:6443');
  });

  it('GIVEN a ready, a failing and an unreachable apiserver THEN only the first has no problem, the others say what answered', async () => {
    const host = new FakeHost()
      .stub('curl', readyzCurlArgs('https://10.0.0.11:6443/readyz'), { stdout: 'ok\n200' })
      .stub('curl', readyzCurlArgs('https://10.0.0.12:6443/readyz'), {
        stdout: '[-]etcd failed\nreadyz check failed\n500',
      })
      .stub('curl', readyzCurlArgs('https://10.0.0.13:6443/readyz'), { stdout: '\n000', exitCode: 7 });

    const ready = await getReadyz(host, '10.0.0.11:6443');
    expect(ready).toEqual({ url: 'https://10.0.0.11:6443/readyz', curlExitCode: 0, httpStatus: 200, body: 'ok' });
    expect(readyzProblem(ready)).toBeUndefined();
    const failing = await getReadyz(host, '10.0.0.12:6443');
    expect(failing.body).toBe('[-]etcd failed\nreadyz check failed');
    expect(readyzProblem(failing)).toBe('GET https://10.0.0.12:6443/readyz answered 500');
    expect(readyzProblem(await getReadyz(host, '10.0.0.13:6443'))).toBe(
      'GET https://10.0.0.13:6443/readyz answered nothing (curl exit 7)',
    );
    await expect(getReadyz(host, '10.0.0.13:6443', true)).rejects.toThrow(/curl.*10\.0\.0\.13/s);
  });
});
