import { type DrillRun, drillActionTimeoutSeconds } from '../drill/drive-drill.ts';
import { coordinatorNode } from '../plan/run-plan.ts';
import { notStartedStep, type StepRecord, type Store } from '../store/store.ts';
import type { ActiveRuns } from './active-run.ts';
import type { NodeAgents } from './node-agents.ts';
import type { RunJournal } from './run-journal.ts';

/**
 * The run as the failover drill (coordinator/drill/) acts on it: its action steps are stored before they are sent,
 * like any step, and the VIP holders are the agents' own word from their heartbeats.
 */
export function drillRunFor(deps: {
  runId: string;
  drillStep: StepRecord;
  attempt: number;
  runs: ActiveRuns;
  store: Store;
  journal: RunJournal;
  nodeAgents: NodeAgents;
  now: () => number;
  isStopped: () => boolean;
  kick: () => void;
}): DrillRun {
  const { runId, drillStep, attempt, journal } = deps;
  const live = () => {
    const active = deps.runs.get(runId);
    if (!active || deps.isStopped()) throw new Error(`run ${runId} is no longer running`);
    return active;
  };
  return {
    addActionStep: (node, params) => {
      let id = '';
      journal.record(() => {
        const active = live();
        const base = `${drillStep.id}/${params.action}/${params.phase}`;
        id = base;
        for (let n = 2; active.steps.has(id); n++) id = `${base}-${n}`;
        journal.insertSteps(active, [
          {
            runId,
            id,
            seq: active.nextSeq,
            kind: 'failover-drill-action',
            node,
            dependsOn: [],
            timeoutSeconds: drillActionTimeoutSeconds,
            retry: drillStep.retry,
            params: { ...params },
            concurrencyGroup: null,
            // The drill decides the run's outcome from its report; a failed action must not skip the restores.
            bestEffort: true,
            forNode: node,
            ...notStartedStep(),
          },
        ]);
      });
      deps.kick();
      return id;
    },
    actionSteps: () =>
      [...live().steps.values()].filter((s) => s.kind === 'failover-drill-action').sort((a, b) => a.seq - b.seq),
    cancelActionStep: (id, reason) =>
      journal.record(() => {
        const active = live();
        const current = active.steps.get(id);
        if (!current) return;
        journal.updateStep(active, current, { state: 'cancelled', finishedAt: deps.now() });
        journal.stepEvent(active, current, 'cancelled', `${id} cancelled: ${reason}`);
      }),
    holdsVip: (node) => {
      const agent = deps.nodeAgents.agentFor(live().spec, node);
      return agent !== undefined && deps.store.agents.get(agent.id)?.holdsVip === true;
    },
    agentIdOf: (node) => deps.nodeAgents.agentFor(live().spec, node)?.id,
    log: (message) =>
      journal.record(() =>
        journal.event(runId, { type: 'log', stepId: drillStep.id, node: coordinatorNode, attempt, message }),
      ),
  };
}
