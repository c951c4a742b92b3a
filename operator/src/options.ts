/**
 * The operator's command line, parsed into options (pure: `main.ts` passes argv and env in).
 *
 *   apiway-operator [--namespace NS] [--system-namespace apiway-system] [--leader-elect]
 *                   [--public-url ENV=URL ...] [--metrics-port 9091]
 *                   [--key-rotation-interval 720h] [--key-publish-lead 10m]
 *                   [--resync-interval 60s] [--identity NAME] [--log-level info]
 */

import { parseArgs } from 'node:util';
import { DEFAULT_SYSTEM_NAMESPACE } from '../../gateway/src/kubernetes/names.ts';

export interface OperatorOptions {
  /** Watch only this namespace; undefined: every namespace. */
  namespace: string | undefined;
  /** Where snapshots, signing keys, gateway reports and the leader Lease live. */
  systemNamespace: string;
  leaderElect: boolean;
  /** By environment: the gateways' public base URL, for `token_url` in credential Secrets. */
  publicUrls: ReadonlyMap<string, string>;
  /** 0 disables the metrics/health server. */
  metricsPort: number;
  keyRotationIntervalMs: number;
  keyPublishLeadMs: number;
  resyncIntervalMs: number;
  /** This replica in the leader Lease. */
  identity: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
}

export const USAGE = `usage: apiway-operator [--namespace NS] [--system-namespace ${DEFAULT_SYSTEM_NAMESPACE}] [--leader-elect]
                       [--public-url ENV=URL ...] [--metrics-port 9091]
                       [--key-rotation-interval 720h] [--key-publish-lead 10m]
                       [--resync-interval 60s] [--identity NAME] [--log-level info]
Connects with KUBECONFIG (or the in-cluster service account).`;

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Throws an Error whose message is meant for the person who typed the command. */
export function parseOperatorArgs(
  argv: readonly string[],
  defaultIdentity: string,
): OperatorOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      namespace: { type: 'string' },
      'system-namespace': { type: 'string' },
      'leader-elect': { type: 'boolean' },
      'public-url': { type: 'string', multiple: true },
      'metrics-port': { type: 'string' },
      'key-rotation-interval': { type: 'string' },
      'key-publish-lead': { type: 'string' },
      'resync-interval': { type: 'string' },
      identity: { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument ${positionals[0]}`);

  const publicUrls = new Map<string, string>();
  for (const entry of values['public-url'] ?? []) {
    const at = entry.indexOf('=');
    const environment = entry.slice(0, at);
    const url = entry.slice(at + 1).replace(/\/+$/, '');
    if (at <= 0 || !DNS_LABEL.test(environment)) {
      throw new Error(
        `--public-url ${entry}: expected ENV=URL, e.g. alpha=https://api.example.com`,
      );
    }
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw new Error(`--public-url ${entry}: ${url} is not an http(s) URL`);
    }
    publicUrls.set(environment, url);
  }

  const namespace = values.namespace;
  const systemNamespace = values['system-namespace'] ?? DEFAULT_SYSTEM_NAMESPACE;
  for (const [flag, value] of [
    ['--namespace', namespace],
    ['--system-namespace', systemNamespace],
  ] as const) {
    if (value !== undefined && !DNS_LABEL.test(value))
      throw new Error(`${flag} ${value}: not a namespace name`);
  }

  const metricsPort = Number(values['metrics-port'] ?? '9091');
  if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65_535) {
    throw new Error(
      `--metrics-port ${values['metrics-port']}: expected a port number (0 disables)`,
    );
  }
  const keyRotationIntervalMs = parseDuration(
    values['key-rotation-interval'] ?? '720h',
    '--key-rotation-interval',
  );
  const keyPublishLeadMs = parseDuration(values['key-publish-lead'] ?? '10m', '--key-publish-lead');
  if (keyPublishLeadMs >= keyRotationIntervalMs) {
    throw new Error('--key-publish-lead must be shorter than --key-rotation-interval');
  }
  const logLevel = values['log-level'] ?? 'info';
  if (!LOG_LEVELS.has(logLevel))
    throw new Error(`--log-level ${logLevel}: expected one of ${[...LOG_LEVELS].join(', ')}`);

  return {
    namespace,
    systemNamespace,
    leaderElect: values['leader-elect'] ?? false,
    publicUrls,
    metricsPort,
    keyRotationIntervalMs,
    keyPublishLeadMs,
    resyncIntervalMs: parseDuration(values['resync-interval'] ?? '60s', '--resync-interval'),
    identity: values.identity ?? defaultIdentity,
    logLevel: logLevel as OperatorOptions['logLevel'],
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `720h`, `10m`, `1h30m`, `500ms`: Go-style durations, positive. */
export function parseDuration(text: string, flag: string): number {
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`${flag} ${text}: expected a duration such as 720h, 10m, 30s or 1h30m`);
  }
  const total = parts.reduce(
    (sum, [, amount, unit]) => sum + Number(amount) * (UNIT_MS[unit as string] as number),
    0,
  );
  if (total <= 0) throw new Error(`${flag} ${text}: must be positive`);
  return total;
}
