// The agent's real health module alone, for a lab namespace: node health-agent-main.ts LISTEN INTERVAL_MS TRACK_FILE
// Each line on stdin is a ClusterPhase (our JSON shape), as the coordinator would send it.
import { createInterface } from 'node:readline';
import { parseSavedClusterPhase } from '../../agent/health/cluster-phase.ts';
import { HealthMonitor } from '../../agent/health/health-monitor.ts';
import { startHealthServer } from '../../agent/health/health-server.ts';
import { vrrpTrackFileWriter } from '../../agent/health/vrrp-track-file.ts';

const [listen, interval, trackFile] = process.argv.slice(2);
if (!listen || !interval || !trackFile) {
  process.stderr.write('usage: health-agent-main.ts LISTEN INTERVAL_MS TRACK_FILE\n');
  process.exit(2);
}
const writeTrackFile = vrrpTrackFileWriter(trackFile, (error) =>
  process.stderr.write(`track file: ${String(error)}\n`),
);
const monitor = new HealthMonitor({
  probeIntervalMs: Number(interval),
  onVerdictChange: (verdict) => {
    process.stdout.write(`${JSON.stringify({ t: Date.now(), ...verdict })}\n`);
    writeTrackFile(verdict.healthy);
  },
});
const server = await startHealthServer(monitor, { version: 'lab', coordinatorConnected: () => false }, listen);
monitor.start();
createInterface({ input: process.stdin }).on('line', (line) => {
  const phase = parseSavedClusterPhase(line);
  if (phase) monitor.setPhase(phase);
  else process.stderr.write(`not a cluster phase: ${line}\n`);
});
process.stdout.write(`listening ${server.port}\n`);
process.once('SIGTERM', () => {
  void monitor
    .stop()
    .then(() => server.close())
    .then(() => process.exit(0));
});
