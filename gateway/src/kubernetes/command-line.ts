/**
 * `apiway-gateway --source kubernetes` command line. Pure.
 *
 *   apiway-gateway --source kubernetes --environment alpha [--namespace apiway-system]
 *                  [--identity NAME] [every option of the standalone gateway but
 *                  --config-dir, --state-dir and --print-credentials]
 *
 * The options both sources share (ports, public URL, Redis, log level, shutdown) are checked
 * by the standalone parser, so they mean exactly the same in both modes; this parser adds the
 * Kubernetes-only ones and refuses the standalone-only ones.
 */

import { type GatewayCommand, parseCommandLine } from '../standalone/command-line.ts';
import { DEFAULT_SYSTEM_NAMESPACE } from './names.ts';

export interface KubernetesGatewayCommand
  extends Omit<GatewayCommand, 'source' | 'configDir' | 'stateDir' | 'printCredentials'> {
  source: 'kubernetes';
  /** Where the operator writes the snapshot and signing keys. */
  namespace: string;
  /** This process in its report Lease (default: the host name, a pod's name in Kubernetes). */
  identity: string;
}

export type ParsedKubernetesCommandLine =
  | { kind: 'run'; command: KubernetesGatewayCommand }
  | { kind: 'error'; message: string };

export const KUBERNETES_USAGE = `
Kubernetes source (apiway-gateway --source kubernetes --environment NAME [options]):
  reads the snapshot and signing keys the operator writes, through the API (KUBECONFIG or the
  in-cluster service account); reports what it serves so the operator's Ready is honest
  --namespace NS              where the operator writes them (default: ${DEFAULT_SYSTEM_NAMESPACE})
  --identity NAME             this replica in its report Lease (default: the host name)
`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const STANDALONE_ONLY = [
  '--config-dir',
  '--state-dir',
  '--print-credentials',
  '--no-print-credentials',
];

/** True when argv selects the Kubernetes source (`--source kubernetes` or `--source=kubernetes`). */
export function isKubernetesSource(argv: readonly string[]): boolean {
  return argv.some(
    (arg, i) =>
      arg === '--source=kubernetes' || (arg === '--source' && argv[i + 1] === 'kubernetes'),
  );
}

export function parseKubernetesCommandLine(
  argv: readonly string[],
  defaultIdentity: string,
): ParsedKubernetesCommandLine {
  const shared: string[] = [];
  const own: Record<'namespace' | 'identity', string | undefined> = {
    namespace: undefined,
    identity: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    if (STANDALONE_ONLY.includes(flag)) {
      return {
        kind: 'error',
        message: `${flag} is for the standalone source, not --source kubernetes`,
      };
    }
    if (flag === '--source') {
      if (inline === undefined) i++;
      continue;
    }
    if (flag === '--namespace' || flag === '--identity') {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '' || value.startsWith('--')) {
        return { kind: 'error', message: `${flag} needs a value` };
      }
      own[flag === '--namespace' ? 'namespace' : 'identity'] = value;
      continue;
    }
    shared.push(arg);
  }
  // The standalone parser checks the shared options; the config dir it requires is not used.
  const parsed = parseCommandLine([...shared, '--config-dir', '.']);
  if (parsed.kind === 'error') return parsed;
  if (parsed.kind === 'help') return { kind: 'error', message: 'use --help without --source' };
  const {
    source: _source,
    configDir: _configDir,
    stateDir: _stateDir,
    printCredentials: _print,
    ...common
  } = parsed.command;

  const namespace = own.namespace ?? DEFAULT_SYSTEM_NAMESPACE;
  if (!DNS_LABEL.test(namespace))
    return { kind: 'error', message: `--namespace ${namespace}: not a namespace name` };
  const identity = own.identity ?? defaultIdentity;
  if (!/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(identity)) {
    return {
      kind: 'error',
      message: `--identity ${identity}: use letters, digits, '-', '_' or '.' (at most 63)`,
    };
  }
  return { kind: 'run', command: { ...common, source: 'kubernetes', namespace, identity } };
}
