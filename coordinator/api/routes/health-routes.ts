import Type from 'typebox';
import type { ApiPlugin } from '../build-api.ts';

export function healthRoutes(version: string): ApiPlugin {
  return (app) => {
    app.get(
      '/healthz',
      {
        schema: {
          summary: 'Liveness of the coordinator (no authentication)',
          security: [],
          response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String() }) },
        },
      },
      async () => ({ status: 'ok' as const, version }),
    );
  };
}
