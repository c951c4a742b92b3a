/**
 * The operator's Prometheus metrics, on the Registry `main.ts` passes in. Label values are
 * bounded: controller names, results, environments (as many as there are gateway Deployments).
 */

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface OperatorMetrics {
  reconciles: Counter<'controller' | 'result'>;
  reconcileDuration: Histogram<'controller'>;
  leader: Gauge;
  snapshotBytes: Gauge<'environment'>;
  snapshotShardsWritten: Counter<'environment'>;
  statusWrites: Counter<'kind'>;
}

export function createOperatorMetrics(registry: Registry): OperatorMetrics {
  const registers = [registry];
  return {
    reconciles: new Counter({
      name: 'apiway_operator_reconciles_total',
      help: 'Reconciles by controller and result (success, error, terminal).',
      labelNames: ['controller', 'result'],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'apiway_operator_reconcile_duration_seconds',
      help: 'Time spent in one reconcile, by controller.',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    leader: new Gauge({
      name: 'apiway_operator_leader',
      help: '1 while this replica runs the controllers (leader, or leader election off).',
      registers,
    }),
    snapshotBytes: new Gauge({
      name: 'apiway_operator_snapshot_bytes',
      help: 'Size of the published snapshot shards of an environment.',
      labelNames: ['environment'],
      registers,
    }),
    snapshotShardsWritten: new Counter({
      name: 'apiway_operator_snapshot_shards_written_total',
      help: 'Shard ConfigMaps written (only changed shards are).',
      labelNames: ['environment'],
      registers,
    }),
    statusWrites: new Counter({
      name: 'apiway_operator_status_writes_total',
      help: 'Status updates applied (only changed statuses are).',
      labelNames: ['kind'],
      registers,
    }),
  };
}
