// The agent's health endpoint exactly as kubeha-agent runs it, alone, for a lab namespace:
//   node health-agent-main.ts LISTEN INTERVAL_MS TRACK_FILE [STATE_DIR]
// Each line on stdin is a ClusterPhase (our JSON shape), as the coordinator would send it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseSavedClusterPhase } from '../../agent/health/cluster-phase.ts';
import { startHealthEndpoint } from '../../agent/health/health-endpoint.ts';
import { createLogger } from '../../common/logger.ts';
import { clusterPhaseToProto } from '../../proto/convert.ts';

const [listen, interval, trackFile, stateDir] = process.argv.slice(2);
if (!listen || !interval || !trackFile) {
  process.stderr.write('usage: health-agent-main.ts LISTEN INTERVAL_MS TRACK_FILE [STATE_DIR]\n');
  process.exit(2);
}
const endpoint = await startHealthEndpoint({
  listen,
  probeIntervalMs: Number(interval),
  stateDir: stateDir ?? mkdtempSync(join(tmpdir(), 'kha-health-agent-')),
  trackFile,
  version: 'lab',
  coordinatorConnected: () => false,
  logger: createLogger({ name: 'lab-health', level: 'warn' }),
});
createInterface({ input: process.stdin }).on('line', (line) => {
  const phase = parseSavedClusterPhase(line);
  if (!phase) {
    process.stderr.write(`not a cluster phase: ${line}\n`);
    return;
  }
  endpoint.handleClusterPhase(clusterPhaseToProto(phase));
});
process.stdout.write(`listening ${endpoint.port}\n`);
process.once('SIGTERM', () => {
  void endpoint.stop().then(() => process.exit(0));
});
