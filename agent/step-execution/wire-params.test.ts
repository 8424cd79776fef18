import type { ServiceDefinition } from '@grpc/proto-loader';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { runStepFor, stepParamsFromRunStep } from '../../proto/convert.ts';
import type { CoordinatorMessage__Output } from '../../proto/generated/kubeha/v1/CoordinatorMessage.ts';
import { agentProtoPath, protoLoaderOptions } from '../../proto/load-agent-gateway.ts';
import { stepRegistry } from '../steps/step-registry.ts';

const session = (
  protoLoader.loadSync(agentProtoPath, protoLoaderOptions)['kubeha.v1.AgentGateway'] as ServiceDefinition
).Session!;

/** What the agent's step sees after the coordinator's camelCase params crossed the wire. */
function overTheWire(kind: string, params: unknown): unknown {
  const message = {
    run_step: runStepFor({ runId: 'r', stepId: `${kind}/n`, attempt: 1, timeoutSeconds: 60 }, kind, params),
  };
  const decoded = session.responseDeserialize(session.responseSerialize(message)) as CoordinatorMessage__Output;
  const parsed = stepParamsFromRunStep(decoded.run_step!);
  expect(parsed?.kind).toBe(kind);
  return stepRegistry.get(kind)!.parseParams(parsed!.params);
}

describe('node-preparation parameters over the wire', () => {
  it('accept what the coordinator plans, with proto3 defaults standing for absent fields', () => {
    expect(
      overTheWire('preflight', { role: 'worker', kubernetesVersion: '1.31.4', lbPort: 0, alreadyMember: false }),
    ).toEqual({
      role: 'worker',
      kubernetesVersion: '1.31.4',
      lbPort: 0,
      alreadyMember: false,
      allowErasing: false,
      allowCgroupV1: false,
    });
    const nodes = [{ name: 'cp1', address: '10.0.0.1', role: 'control-plane' }];
    const controlPlanePrep = {
      hostname: 'cp1',
      role: 'control-plane',
      nodes,
      selinux: 'permissive',
      firewall: 'managed',
      cni: 'flannel',
      lbPort: 16443,
      podSubnet: '10.244.0.0/16',
      keepalived: true,
    };
    expect(overTheWire('host-prep', controlPlanePrep)).toEqual({ ...controlPlanePrep });
    expect(overTheWire('host-prep', { hostname: 'w1', role: 'worker', nodes })).toMatchObject({
      selinux: 'permissive',
      firewall: 'managed',
      cni: 'flannel',
      lbPort: 0,
      podSubnet: '',
      keepalived: false,
    });
    expect(
      overTheWire('container-runtime', { kubernetesVersion: '1.31.4', repoBaseUrl: '', mirrors: [], sandboxImage: '' }),
    ).toEqual({
      kubernetesVersion: '1.31.4',
      mirrors: [],
      allowErasing: false,
    });
    expect(
      overTheWire('kube-packages', {
        kubernetesVersion: '1.31.4',
        repoBaseUrl: 'https://pkgs.k8s.io/core:/stable:/v1.31/rpm/',
      }),
    ).toEqual({ kubernetesVersion: '1.31.4', repoBaseUrl: 'https://pkgs.k8s.io/core:/stable:/v1.31/rpm/' });
  });
});
