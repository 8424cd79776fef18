import type { ApiClient } from './api-client.ts';

export interface RunEventView {
  id: number;
  runId: string;
  at: string;
  type: 'run' | 'step' | 'log';
  stepId: string | null;
  node: string | null;
  attempt: number | null;
  state: string | null;
  message: string;
}

/** The run's events from GET /v1/runs/:id/events (SSE), after `lastEventId`; ends when the server ends the stream. */
export async function* runEventsStream(
  api: ApiClient,
  runId: string,
  lastEventId?: number,
  signal?: AbortSignal,
): AsyncGenerator<RunEventView> {
  const response = await api.stream(
    `/v1/runs/${encodeURIComponent(runId)}/events`,
    lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) },
    signal,
  );
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      if (data) yield JSON.parse(data) as RunEventView;
    }
  }
}
