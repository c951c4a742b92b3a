/**
 * `apiway-gateway`'s command line (node:util parseArgs, strict): what `main.ts` runs. Pure:
 * returns the options or the message a person gets with exit code 2.
 */

import { parseArgs } from 'node:util';

export const USAGE = `Usage:
  apiway-gateway --config-dir DIR [options]          standalone: serve the resources in DIR
  apiway-gateway --source kubernetes [options]       serve what the operator compiled

Options:
  --config-dir DIR            YAML/JSON files: Api, Product, Subscription, IdpAssociation,
                              Secret (existingSecret), ConfigMap (openapi.configMapRef);
                              watched and reloaded on change
  --state-dir DIR             where generated signing keys and credentials are kept
                              (default: .apiway/state)
  --environment NAME          the environment this gateway serves (default: alpha)
  --host ADDRESS              address both ports listen on (default: 127.0.0.1)
  --port N                    main port: Apis, token endpoints, JWKS (default: 8080)
  --admin-port N              /healthz, /readyz, /metrics (default: 9090)
  --public-url URL            the URL clients use; token issuers are {public-url}{basePath}
                              (default: http://HOST:PORT)
  --redis-url URL             shared rate-limit counters (default: in memory); the password
                              may come from APIWAY_REDIS_PASSWORD instead of the URL
  --redis-cluster             the URL names one node of a Redis Cluster
  --rate-limit-replicas N     replicas sharing that Redis: each local fallback limit is
                              limit/N while Redis is unreachable (default: 1)
  --log-level LEVEL           fatal, error, warn, info, debug, trace or silent (default: info)
  --no-print-credentials      do not print credentials at start (they are printed to stdout,
                              never to the log)
  --shutdown-timeout SECONDS  how long in-flight requests may take to finish on SIGTERM/SIGINT
                              (default: 10)
  -h, --help                  this help
`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface GatewayCommand {
  source: 'standalone';
  configDir: string;
  stateDir: string;
  environment: string;
  host: string;
  port: number;
  adminPort: number;
  /** Absent: derived from the address the main port is bound to. */
  publicUrl?: string;
  redisUrl?: string;
  /** The URL is a seed node of a Redis Cluster. */
  redisCluster: boolean;
  rateLimitReplicas: number;
  logLevel: LogLevel;
  printCredentials: boolean;
  shutdownTimeoutSeconds: number;
}

export type ParsedCommandLine =
  | { kind: 'run'; command: GatewayCommand }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
  if (values.help) return { kind: 'help' };

  const source = values.source ?? 'standalone';
  if (source === 'kubernetes') {
    return {
      kind: 'error',
      message:
        '--source kubernetes has its own command line (gateway/src/kubernetes/command-line.ts)',
    };
  }
  if (source !== 'standalone') {
    return { kind: 'error', message: `--source must be standalone or kubernetes, not ${source}` };
  }
  if (values['config-dir'] === undefined || values['config-dir'] === '') {
    return { kind: 'error', message: '--config-dir DIR is required' };
  }

  const port = portOf('--port', values.port ?? '8080');
  const adminPort = portOf('--admin-port', values['admin-port'] ?? '9090');
  const replicas = integerOf('--rate-limit-replicas', values['rate-limit-replicas'] ?? '1', 1);
  const shutdown = integerOf('--shutdown-timeout', values['shutdown-timeout'] ?? '10', 0);
  for (const parsed of [port, adminPort, replicas, shutdown]) {
    if (typeof parsed === 'string') return { kind: 'error', message: parsed };
  }
  if (port === adminPort && port !== 0) {
    return { kind: 'error', message: '--port and --admin-port must differ' };
  }

  const logLevel = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    return { kind: 'error', message: `--log-level must be one of ${LOG_LEVELS.join(', ')}` };
  }
  const publicUrl = values['public-url'];
  if (publicUrl !== undefined) {
    const problem = publicUrlProblem(publicUrl);
    if (problem) return { kind: 'error', message: problem };
  }
  const redisUrl = values['redis-url'];
  if (redisUrl !== undefined && !/^rediss?:\/\/./.test(redisUrl)) {
    return { kind: 'error', message: '--redis-url must be a redis:// or rediss:// URL' };
  }
  const environment = values.environment ?? 'alpha';
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(environment)) {
    return { kind: 'error', message: '--environment must be a DNS label (a-z, 0-9, -)' };
  }

  const command: GatewayCommand = {
    source: 'standalone',
    configDir: values['config-dir'],
    stateDir: values['state-dir'] ?? '.apiway/state',
    environment,
    host: values.host ?? '127.0.0.1',
    port: port as number,
    adminPort: adminPort as number,
    redisCluster: values['redis-cluster'] ?? false,
    rateLimitReplicas: replicas as number,
    logLevel: logLevel as LogLevel,
    printCredentials: values['print-credentials'] ?? true,
    shutdownTimeoutSeconds: shutdown as number,
  };
  if (publicUrl !== undefined) command.publicUrl = publicUrl.replace(/\/+$/, '');
  if (redisUrl !== undefined) command.redisUrl = redisUrl;
  return { kind: 'run', command };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    allowNegative: true,
    options: {
      'config-dir': { type: 'string' },
      'state-dir': { type: 'string' },
      environment: { type: 'string' },
      source: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      'public-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'redis-cluster': { type: 'boolean' },
      'rate-limit-replicas': { type: 'string' },
      'log-level': { type: 'string' },
      'print-credentials': { type: 'boolean' },
      'shutdown-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function portOf(flag: string, text: string): number | string {
  const value = integerOf(flag, text, 0);
  if (typeof value === 'number' && value > 65_535) return `${flag} must be a port number (0-65535)`;
  return value;
}

function integerOf(flag: string, text: string, min: number): number | string {
  if (!/^\d+$/.test(text)) return `${flag} must be an integer, not ${JSON.stringify(text)}`;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) return `${flag} must be at least ${min}`;
  return value;
}

function publicUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `--public-url must be an absolute URL, not ${JSON.stringify(text)}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return '--public-url must be http:// or https://';
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return '--public-url must not have a query, fragment or user info';
  }
  return undefined;
}

/** The URL a person on this machine uses for an address the server is bound to. */
export function localUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
