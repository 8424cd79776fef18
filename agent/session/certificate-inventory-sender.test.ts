import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CertificateInventory } from '../../proto/convert.ts';
import type { AgentMessage } from '../../proto/generated/kubeha/v1/AgentMessage.ts';
import { capturedLogger } from '../../test/support/captured-logs.ts';
import { CertificateInventorySender } from './certificate-inventory-sender.ts';

const dayMs = 86_400_000;

afterEach(() => {
  vi.useRealTimers();
});

function inventory(now: number): CertificateInventory {
  return {
    gatheredAtMs: now,
    certificates: [
      {
        name: 'apiserver',
        file: '/etc/kubernetes/pki/apiserver.crt',
        kubeconfigUser: '',
        subject: 'CN=kube-apiserver',
        issuer: 'CN=kubernetes',
        sans: ['DNS:kubernetes'],
        notBeforeMs: now - dayMs,
        notAfterMs: now + 364 * dayMs,
        isCa: false,
      },
    ],
  };
}

describe('CertificateInventorySender', () => {
  it('sends the inventory on demand (a session opened) and then once a day, read afresh each time', async () => {
    vi.useFakeTimers({ now: Date.parse('2027-01-01T00:00:00Z') });
    const sent: AgentMessage[] = [];
    const reads: number[] = [];
    const sender = new CertificateInventorySender({
      read: async (now) => {
        reads.push(now);
        return inventory(now);
      },
      send: (message) => {
        sent.push(message);
        return true;
      },
      logger: capturedLogger('sender').logger,
      now: Date.now,
      intervalMs: dayMs,
    });
    sender.start();
    expect(await sender.sendNow()).toBe(true);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.certificate_inventory?.certificates?.[0]).toMatchObject({
      name: 'apiserver',
      not_after_ms: String(Date.parse('2027-01-01T00:00:00Z') + 364 * dayMs),
    });
    await vi.advanceTimersByTimeAsync(dayMs - 1);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(dayMs);
    expect(reads).toEqual([0, 1, 2].map((d) => Date.parse('2027-01-01T00:00:00Z') + d * dayMs));
    sender.stop();
    await vi.advanceTimersByTimeAsync(3 * dayMs);
    expect(sent).toHaveLength(3);
  });

  it('says false when no session took it, and logs a read that failed instead of throwing', async () => {
    const { logger, lines } = capturedLogger('sender');
    const offline = new CertificateInventorySender({
      read: async (now) => inventory(now),
      send: () => false,
      logger,
      now: Date.now,
      intervalMs: dayMs,
    });
    expect(await offline.sendNow()).toBe(false);
    const failing = new CertificateInventorySender({
      read: async () => {
        throw new Error('EACCES: permission denied, open /etc/kubernetes/admin.conf');
      },
      send: () => true,
      logger,
      now: Date.now,
      intervalMs: dayMs,
    });
    expect(await failing.sendNow()).toBe(false);
    expect(lines.some((l) => l.includes('cannot read the certificate inventory') && l.includes('admin.conf'))).toBe(
      true,
    );
  });
});
