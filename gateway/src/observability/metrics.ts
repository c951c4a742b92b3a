/**
 * The gateway's Prometheus metrics, registered on the Registry `main.ts` passes in (never the
 * global one). Label values are bounded: Api ids come from the snapshot, status classes and
 * upstream error codes from closed sets; no token, key, client id or path ever becomes a label.
 */

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The `api` label of requests that matched no Api (unknown paths, the JWKS). Api ids contain `/`, so it never collides. */
export const NO_API = 'none';

export interface GatewayMetrics {
  requests: Counter<'api' | 'status_class'>;
  requestDuration: Histogram<'api'>;
  upstreamErrors: Counter<'api' | 'code'>;
  snapshotLoads: Counter<'result'>;
  snapshotInfo: Gauge<'environment' | 'version'>;
}

export function createMetrics(registry: Registry): GatewayMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'apiway_requests_total',
      help: 'Requests answered on the main port, by Api id and status class (2xx, 4xx…).',
      labelNames: ['api', 'status_class'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'apiway_request_duration_seconds',
      help: 'Time from receiving a request to the end of its response, by Api id.',
      labelNames: ['api'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    upstreamErrors: new Counter({
      name: 'apiway_upstream_errors_total',
      help: 'Requests whose backend could not be reached or timed out, by Api id and error code.',
      labelNames: ['api', 'code'],
      registers,
    }),
    snapshotLoads: new Counter({
      name: 'apiway_snapshot_loads_total',
      help: 'Snapshot loads by result (success, failure); a failed load keeps the previous snapshot.',
      labelNames: ['result'],
      registers,
    }),
    snapshotInfo: new Gauge({
      name: 'apiway_snapshot_info',
      help: 'The snapshot this gateway serves (value 1): its environment and version.',
      labelNames: ['environment', 'version'],
      registers,
    }),
  };
}

/** `2xx`, `4xx`…: the bounded label of a status code. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}
