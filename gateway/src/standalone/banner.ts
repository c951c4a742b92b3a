/**
 * What `apiway-gateway --config-dir` prints for the person who started it: where it listens,
 * which Apis it serves, and each Subscription's credentials. Plain text for stdout, never a log
 * line: the log must never hold a secret, while this is the one place that shows them (as the
 * operator's Secret does in Kubernetes). Pure.
 */

import type { ObjectResult } from '../compiler/types.ts';
import type { Snapshot } from '../snapshot/schema.ts';
import type { ConsumerCredentials } from './consumer-credentials.ts';

export interface BannerInput {
  environment: string;
  publicUrl: string;
  adminUrl: string;
  stateDir: string;
  snapshot: Snapshot;
  results: readonly ObjectResult[];
  consumers: readonly ConsumerCredentials[];
  printCredentials: boolean;
}

export function tokenUrl(publicUrl: string, basePath: string): string {
  return `${publicUrl}${basePath}/oauth2/v2/token`;
}

export function formatBanner(input: BannerInput): string {
  const { snapshot, publicUrl } = input;
  const lines: string[] = [
    '',
    `Apiway gateway, environment ${input.environment}: ${publicUrl}  (admin ${input.adminUrl})`,
    `  JWKS  ${publicUrl}/.well-known/jwks`,
    '',
  ];
  if (snapshot.apis.length === 0) lines.push('No Api is served yet.');
  else {
    lines.push('Apis');
    const width = Math.max(...snapshot.apis.map((api) => api.basePath.length));
    for (const api of snapshot.apis) {
      lines.push(`  ${api.basePath.padEnd(width)}  ->  ${api.backend.url}   (${api.id})`);
    }
  }
  const rejected = input.results.flatMap((result) => {
    const accepted = result.conditions.find((c) => c.type === 'Accepted');
    return accepted?.status === 'False'
      ? [`  ${result.kind} ${result.namespace}/${result.name}: ${accepted.reason}`]
      : [];
  });
  if (rejected.length > 0) {
    lines.push('', 'Not accepted (details in the log)', ...rejected);
  }
  if (input.consumers.length > 0) {
    lines.push('', formatCredentials(input, input.consumers));
  }
  lines.push('');
  return lines.join('\n');
}

/** The credentials of these Subscriptions (all of them at start, the changed ones on a reload). */
export function formatCredentials(
  input: Pick<BannerInput, 'publicUrl' | 'stateDir' | 'snapshot' | 'printCredentials'>,
  consumers: readonly ConsumerCredentials[],
): string {
  const basePaths = new Map(input.snapshot.apis.map((api) => [api.id, api.basePath]));
  const lines: string[] = [
    input.printCredentials
      ? `Subscriptions (keep these secret; generated ones are kept in ${input.stateDir})`
      : 'Subscriptions (credentials not printed: --no-print-credentials)',
  ];
  for (const consumer of consumers) {
    lines.push(`  ${consumer.id}${consumer.suspended ? '  (suspended)' : ''}`);
    const rows: Array<[string, string | undefined]> = [['client_id', consumer.clientId]];
    if (input.printCredentials) {
      rows.push(
        ['client_secret', consumer.clientSecret],
        ['api_key', consumer.apiKey],
        ['api_key_secondary', consumer.apiKeySecondary],
      );
    }
    for (const [name, value] of rows) {
      if (value !== undefined) lines.push(`    ${name.padEnd(18)} ${value}`);
    }
    consumer.apiIds.forEach((apiId, index) => {
      const basePath = basePaths.get(apiId);
      if (basePath === undefined) return;
      lines.push(
        `    ${(index === 0 ? 'token_url' : '').padEnd(18)} ${tokenUrl(input.publicUrl, basePath)}`,
      );
    });
  }
  return lines.join('\n');
}
