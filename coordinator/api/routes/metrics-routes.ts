import Type from 'typebox';
import type { ApiPlugin } from '../build-api.ts';

export interface MetricsSource {
  render(): Promise<{ contentType: string; body: string }>;
}

/** GET /metrics: Prometheus text format; the admin token or the scrape token (metrics-token in the data dir). */
export function metricsRoutes(metrics: MetricsSource): ApiPlugin {
  return (app) => {
    app.get(
      '/metrics',
      {
        schema: {
          summary: 'Prometheus metrics (admin token or the read-only scrape token)',
          produces: ['text/plain'],
          response: { 200: Type.String({ description: 'Prometheus text exposition format 0.0.4' }) },
        },
      },
      async (_request, reply) => {
        const { contentType, body } = await metrics.render();
        return reply.type(contentType).send(body);
      },
    );
  };
}
