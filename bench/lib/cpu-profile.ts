/**
 * Reading a V8 `.cpuprofile` (what `node --cpu-prof` writes): where the samples fell, by
 * function (self time), by function including callees (inclusive time), and by area (a folder
 * of gateway/src, a package of node_modules, Node's internals, the garbage collector). Pure.
 */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CostLine {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  busy_ms: number;
  idle_ms: number;
  /** Self time per function. */
  top_self: CostLine[];
  /** Time in a gateway/src function and everything it called. */
  top_inclusive_gateway: CostLine[];
  /** Self time per area. */
  by_area: CostLine[];
  /**
   * Every sample charged to the innermost gateway/src function on its stack (its library and
   * Node callees included): which step of the gateway the time is spent for. Samples with no
   * gateway frame are charged to the innermost package on the stack (an async continuation
   * inside jose or ioredis), else to the Node area (HTTP parsing, socket writes, GC).
   */
  by_gateway_function: CostLine[];
}

/** Where a call frame belongs: `gateway/src/pipeline`, `node_modules/jose`, `node:internal/http`… */
export function areaOf(url: string, functionName: string): string {
  if (url === '') {
    // (garbage collector), (program), (idle), (root): V8's pseudo-frames.
    return functionName.startsWith('(') ? functionName : 'native';
  }
  const source = /\/(gateway\/src\/[^/]+)\//.exec(url) ?? /\/(gateway\/src)\/[^/]+$/.exec(url);
  if (source) return source[1] as string;
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (module) return `node_modules/${module[1]}`;
  const internal = /^node:internal\/([^/]+)/.exec(url);
  if (internal) return `node:internal/${(internal[1] as string).replace(/\.js$/, '')}`;
  if (url.startsWith('node:')) return url.replace(/\.js$/, '');
  return url.replace(/^file:\/\/.*\/(bench|test)\//, '$1/');
}

function label(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return name;
  const file = url.replace(/^file:\/\/.*?\/(gateway\/src|node_modules)\//, '$1/');
  return `${name}  ${file.replace(/^node_modules\//, '')}:${lineNumber + 1}`;
}

/**
 * `window` (µs of CLOCK_MONOTONIC, the clock of both V8's profile timestamps and
 * `process.hrtime.bigint()`) keeps only the samples taken in it, e.g. the load, not the start-up.
 */
export function summarizeProfile(
  profile: CpuProfile,
  top = 20,
  window?: { startUs: number; endUs: number },
): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Self time per node from the sample stream (timeDeltas[i] is the time before sample i).
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.startUs || at > window.endUs)) continue;
    const id = profile.samples[i] as number;
    const delta = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, delta));
  }
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    if (byId.get(id)?.callFrame.functionName === '(idle)') idleUs += us;
    else busyUs += us;
  }

  const add = (map: Map<string, number>, key: string, us: number) =>
    map.set(key, (map.get(key) ?? 0) + us);
  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    add(self, label(node), us);
    add(areas, areaOf(node.callFrame.url, node.callFrame.functionName), us);
  }

  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  // The innermost gateway frame on the stack; failing that (an async continuation inside a
  // library, whose gateway caller is not on the stack any more), the innermost package.
  const owners = new Map<number, { gateway?: string; module?: string }>();
  const ownersOf = (id: number): { gateway?: string; module?: string } => {
    const known = owners.get(id);
    if (known) return known;
    const node = byId.get(id);
    const up = parent.get(id);
    const above = up === undefined ? {} : ownersOf(up);
    const url = node?.callFrame.url ?? '';
    const found = url.includes('/gateway/src/')
      ? { gateway: label(node as CpuProfileNode) }
      : url.includes('/node_modules/')
        ? { ...above, module: above.module ?? areaOf(url, '') }
        : above;
    owners.set(id, found);
    return found;
  };
  const ownerOf = (id: number): string => {
    const { gateway, module } = ownersOf(id);
    if (gateway) return gateway;
    if (module) return `${module} (no gateway frame on the stack)`;
    const node = byId.get(id);
    return `${node ? areaOf(node.callFrame.url, node.callFrame.functionName) : '?'} (outside gateway code)`;
  };
  const owned = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    add(
      owned,
      node.callFrame.functionName === '(garbage collector)' ? '(garbage collector)' : ownerOf(id),
      us,
    );
  }

  // Inclusive time of gateway functions: each node's subtree, counted once per function per
  // stack (a function calling itself is not counted twice).
  const inclusive = new Map<string, number>();
  const subtree = new Map<number, number>();
  const total = (id: number): number => {
    const known = subtree.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    let sum = selfUs.get(id) ?? 0;
    for (const child of node?.children ?? []) sum += total(child);
    subtree.set(id, sum);
    return sum;
  };
  const root = profile.nodes[0];
  if (root) total(root.id);
  const walk = (id: number, onStack: Set<string>) => {
    const node = byId.get(id);
    if (!node) return;
    const name = label(node);
    const counted = node.callFrame.url.includes('/gateway/src/') && !onStack.has(name);
    if (counted) add(inclusive, name, subtree.get(id) ?? 0);
    const next = counted ? new Set(onStack).add(name) : onStack;
    for (const child of node.children ?? []) walk(child, next);
  };
  if (root) walk(root.id, new Set());

  const lines = (map: Map<string, number>, limit: number): CostLine[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }));
  return {
    busy_ms: busyUs / 1000,
    idle_ms: idleUs / 1000,
    top_self: lines(self, top),
    top_inclusive_gateway: lines(inclusive, top),
    by_area: lines(areas, top),
    by_gateway_function: lines(owned, top),
  };
}

export function formatCostLines(title: string, lines: readonly CostLine[]): string {
  return [
    `  ${title}`,
    ...lines.map(
      (line) =>
        `    ${(line.share * 100).toFixed(1).padStart(5)}%  ${line.ms.toFixed(0).padStart(6)} ms  ${line.name}`,
    ),
  ].join('\n');
}
