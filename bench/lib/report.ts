/** The terminal tables of a bench run. */

import type { DataPathResult, FixedRateFigures } from '../data-path.ts';
import type { ScaleResult } from '../scale.ts';
import type { TokenEndpointResult } from '../token-endpoint.ts';
import { describeTail } from './tail-episodes.ts';

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[0] as number) : cell.padStart(widths[column] as number),
      )
      .join('  ');
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)]
    .map((row) => `  ${row}`)
    .join('\n');
}

const decimal = (value: number | null | undefined, digits: number) =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);

export function formatDataPath(result: DataPathResult): string {
  const rows = result.scenarios.map((scenario) => {
    const detail = result.details.find((d) => d.name === scenario.name);
    if (detail?.skipped) return [scenario.name, `skipped: ${detail.skipped}`, '', '', '', '', ''];
    const problems = (detail?.non_2xx ?? 0) + (detail?.errors ?? 0);
    return [
      scenario.name,
      decimal(scenario.rps, 0),
      decimal(scenario.p50_ms, 2),
      decimal(scenario.p99_ms, 2),
      decimal(scenario.cpu_ms_per_request, 3),
      decimal(scenario.ratio_to_bare_proxy, 2),
      problems > 0 ? `${problems} failed` : '',
    ];
  });
  let text = `data path (${result.details[0]?.connections ?? '?'} connections):\n${table(
    ['scenario', 'rps', 'p50 ms', 'p99 ms', 'cpu ms/req', 'x bare', ''],
    rows,
  )}`;
  const fixed = result.fixed_rate;
  if ('skipped' in fixed) text += `\n\n  at fixed rates: skipped: ${fixed.skipped}`;
  else {
    for (const block of fixed) {
      text += `\n\nat ${block.rate_rps} rps (half the peak of ${block.half_of}):\n${table(
        [
          'scenario',
          'achieved rps',
          'p50 ms',
          'p99 ms',
          'added p99 ms',
          'proxy CPU',
          'machine busy',
          'p99 tail',
        ],
        block.runs.map((run) => [
          run.name,
          decimal(run.achieved_rps, 0),
          decimal(run.p50_ms, 2),
          decimal(run.p99_ms, 2),
          run.added_p99_ms === undefined ? '(baseline)' : signed(run.added_p99_ms),
          percent(run.core_share),
          percent(run.machine_busy_share),
          run.tail_episodes ? describeTail(run.tail_episodes) : '–',
        ]),
      )}`;
    }
  }
  return text;
}

export function formatTokenEndpoint(result: TokenEndpointResult): string {
  return `token endpoint (client credentials, ${result.connections} connections, one gateway process):\n${table(
    ['alg', 'tokens/s', 'tokens/CPU-s', 'cpu ms/token', 'p50 ms', 'p99 ms'],
    (['ES256', 'RS256'] as const).map((alg) => [
      alg,
      decimal(result[alg].tokens_per_second, 0),
      decimal(result[alg].tokens_per_cpu_second, 0),
      decimal(result[alg].cpu_ms_per_token, 3),
      decimal(result[alg].p50_ms, 2),
      decimal(result[alg].p99_ms, 2),
    ]),
  )}`;
}

export function formatScale(result: ScaleResult): string {
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  const g = result.gateway;
  return `scale (${result.apis} Apis, ${result.products} Products, ${result.subscriptions} Subscriptions):\n${table(
    ['figure', 'value'],
    [
      ['OpenAPI parse, per document', `${result.parse.ms_per_document.toFixed(1)} ms`],
      ['OpenAPI parse, all documents (estimated)', ms(result.parse.estimated_all_documents_ms)],
      ['compile (CPU)', `${ms(result.compile_ms)} (${ms(result.compile_cpu_ms)})`],
      [
        'compile after one change (CPU)',
        `${ms(result.recompile_one_change_ms)} (${ms(result.recompile_one_change_cpu_ms)})`,
      ],
      ['split into shards', ms(result.split_ms)],
      ['snapshot size', mib(result.snapshot_bytes)],
      [
        'shards (largest)',
        `${result.shard_count} (${(result.max_shard_bytes / 1024).toFixed(0)} KiB)`,
      ],
      ['shards rewritten by one change', String(result.one_subscription_change.shards_rewritten)],
      ['operator side peak RSS', mib(result.compile_peak_rss_bytes)],
      ['gateway load (assemble + update)', ms(g.initial_assemble_ms + g.initial_update_ms)],
      ['gateway reload: assemble', ms(g.reload_assemble_ms)],
      ['gateway reload: update()', ms(g.reload_update_ms)],
      ['gateway reload, CPU', ms(g.reload_cpu_ms)],
      ['longest event-loop block in reload', ms(g.reload_longest_block_ms)],
      [
        'gateway RSS after reload (peak)',
        `${mib(g.rss_after_reload_bytes)} (${mib(g.peak_rss_bytes)})`,
      ],
    ],
  )}`;
}

/** `78%`: a share (0.78) as a percentage. */
const percent = (share: number): string => `${(share * 100).toFixed(0)}%`;

/**
 * How loaded the machine was during a fixed-rate run: the proxy's CPU as a share of one core and
 * the whole machine's busy share. A p99 measured with the machine near saturation is mostly
 * queueing behind other processes, not the proxy's own work.
 */
export function busyText(run: Pick<FixedRateFigures, 'core_share' | 'machine_busy_share'>): string {
  return `proxy ${percent(run.core_share)} of a core, machine ${percent(run.machine_busy_share)} busy`;
}

/** `+1.25` / `-0.40`: a difference, with its sign. */
export function signed(value: number, digits = 2): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}
