import { ErrorCode } from '../../../common/errors.ts';
import type { NodeFacts } from '../../../proto/convert.ts';
import { crossNodeChecks } from '../../plan/cross-node-checks.ts';
import type { CoordinatorStepDefinition } from './coordinator-step.ts';

/** The checks across the nodes' facts (addresses, versions, duplicates) before anything is changed on a node. */
export const crossNodeChecksStep: CoordinatorStepDefinition = {
  kind: 'cross-node-checks',
  mode: 'check',
  run({ spec, factsOf }) {
    const factsByNode = new Map<string, NodeFacts | undefined>();
    for (const node of spec.spec.nodes) factsByNode.set(node.name, factsOf(node.name));
    let errors: string[];
    let warnings: string[] = [];
    try {
      const findings = crossNodeChecks(spec, factsByNode);
      errors = findings.filter((f) => f.severity === 'error').map((f) => `${f.code}: ${f.message}`);
      warnings = findings.filter((f) => f.severity === 'warning').map((f) => `${f.code}: ${f.message}`);
    } catch (error) {
      errors = [`the checks could not run: ${(error as Error).message}`];
    }
    return {
      log: warnings.map((w) => `warning: ${w}`),
      changed: false,
      ...(errors.length > 0 ? { failure: { code: ErrorCode.specInvalid, message: errors.join('; ') } } : {}),
    };
  },
};
