// The alert rules of docs/operations.md name metrics and labels: each must be one the gateway or
// the operator exports, so the rules do not silently match nothing after a rename.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');

/** Every `new Counter|Gauge|Histogram({ name, labelNames })` in gateway/src and operator/src. */
function exportedMetrics(): Map<string, Set<string>> {
  const metrics = new Map<string, Set<string>>();
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) visit(path);
      else if (entry.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8');
        for (const match of text.matchAll(
          /name: '(apiway_[a-z_]+)'[\s\S]*?(?:labelNames: \[([^\]]*)\]|\}\))/g,
        )) {
          const labels = [...(match[2] ?? '').matchAll(/'([a-z_]+)'/g)].map((m) => m[1] as string);
          metrics.set(match[1] as string, new Set(labels));
        }
      }
    }
  };
  visit(join(ROOT, 'gateway/src'));
  visit(join(ROOT, 'operator/src'));
  return metrics;
}

function alertExpressions(): Array<{ alert: string; expr: string }> {
  const page = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
  const block =
    /```yaml\n(apiVersion: monitoring\.coreos\.com\/v1\nkind: PrometheusRule[\s\S]*?)```/.exec(
      page,
    );
  if (!block) throw new Error('docs/operations.md has no PrometheusRule block');
  const rule = parse(block[1] as string) as {
    spec: { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  };
  return rule.spec.groups.flatMap((group) => group.rules);
}

describe('the alert rules of docs/operations.md', () => {
  const metrics = exportedMetrics();

  it('finds the metrics the programs export', () => {
    expect(metrics.get('apiway_requests_total')).toEqual(new Set(['api', 'status_class']));
    expect(metrics.has('apiway_operator_leader')).toBe(true);
  });

  it.each(alertExpressions())('$alert uses exported metrics and labels', ({ expr }) => {
    const used = [...expr.matchAll(/(apiway_[a-z_]+)(\{[^}]*\})?/g)];
    expect(used.length).toBeGreaterThan(0);
    for (const [, name, matchers] of used) {
      const base = (name as string).replace(/_(bucket|sum|count)$/, '');
      const labels = metrics.get(base);
      expect(labels, `${name} is not exported`).toBeDefined();
      for (const [, label] of (matchers ?? '').matchAll(/([a-z_]+)\s*=~?/g)) {
        expect(labels?.has(label as string), `${name} has no label ${label}`).toBe(true);
      }
    }
    for (const [, grouping] of expr.matchAll(/by \(([^)]*)\)/g)) {
      for (const label of (grouping as string).split(',').map((l) => l.trim())) {
        // `pod` comes from the scrape (Prometheus Operator target labels), the rest from the metrics.
        if (label === 'pod' || label === 'le') continue;
        const known = [...metrics.values()].some((set) => set.has(label));
        expect(known, `no metric has the label ${label}`).toBe(true);
      }
    }
  });
});
