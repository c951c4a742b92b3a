/**
 * The compiler's latest result for every object, per environment: what the status controller
 * reads to decide `Accepted` and which environments an object belongs to.
 */

import type { ObjectResult } from '../../../gateway/src/compiler/types.ts';
import type { EnvironmentResult } from '../status/object-status.ts';
import { statusKey } from '../status/status-key.ts';

export interface CompiledResults {
  /** Replaces an environment's results; returns the status keys whose result changed, appeared or vanished. */
  set(environment: string, results: readonly ObjectResult[]): string[];
  /** Forgets an environment; returns the status keys it had. */
  remove(environment: string): string[];
  /** The object's result in each environment that has one, by environment name. */
  of(key: string): EnvironmentResult[];
  /** Whether `environment` has been compiled since the operator started. */
  has(environment: string): boolean;
  keysIn(environment: string): string[];
}

export function createCompiledResults(): CompiledResults {
  const byEnvironment = new Map<string, Map<string, { result: ObjectResult; text: string }>>();
  return {
    set(environment, results) {
      const before = byEnvironment.get(environment) ?? new Map();
      const after = new Map<string, { result: ObjectResult; text: string }>();
      for (const result of results) {
        after.set(statusKey(result.kind, result.namespace, result.name), {
          result,
          text: JSON.stringify(result),
        });
      }
      byEnvironment.set(environment, after);
      const changed: string[] = [];
      for (const [key, entry] of after) if (before.get(key)?.text !== entry.text) changed.push(key);
      for (const key of before.keys()) if (!after.has(key)) changed.push(key);
      return changed;
    },
    remove(environment) {
      const keys = [...(byEnvironment.get(environment)?.keys() ?? [])];
      byEnvironment.delete(environment);
      return keys;
    },
    of(key) {
      const found: EnvironmentResult[] = [];
      for (const [environment, results] of byEnvironment) {
        const entry = results.get(key);
        if (entry) found.push({ environment, result: entry.result });
      }
      return found.sort((a, b) => (a.environment < b.environment ? -1 : 1));
    },
    has: (environment) => byEnvironment.has(environment),
    keysIn: (environment) => [...(byEnvironment.get(environment)?.keys() ?? [])],
  };
}
