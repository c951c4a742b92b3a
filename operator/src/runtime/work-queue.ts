/**
 * A work queue with controller-runtime's semantics (client-go `workqueue`):
 * - a key is queued at most once, however often it is added (dedup);
 * - a key is never processed by two workers at once: adding it while it is being processed
 *   marks it dirty, and it is queued again when the current run ends;
 * - a failed key is retried with per-key exponential backoff; success resets its backoff;
 * - a terminal error is not retried (the next change to the object queues it again).
 */

const MAX_TIMER_MS = 2 ** 31 - 1;

export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export interface WorkQueueOptions {
  /** How many keys are processed concurrently. */
  workers?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called with every failure (retried or terminal); the reconcile id is the key. */
  onError?: (key: string, error: unknown, retryInMs: number | undefined) => void;
}

export interface WorkQueue {
  add(key: string): void;
  /** Add after a delay (e.g. a scheduled rotation); of several pending delays the earliest wins. */
  addAfter(key: string, delayMs: number): void;
  start(): void;
  /** Stops taking keys and waits for the ones in progress. */
  stop(): Promise<void>;
  /** Resolves when no key is queued or in progress (keys waiting on a retry timer do not count). */
  idle(): Promise<void>;
  readonly length: number;
}

export function createWorkQueue(
  reconcile: (key: string) => Promise<void>,
  options: WorkQueueOptions = {},
): WorkQueue {
  const workers = options.workers ?? 2;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 60_000;

  const queue: string[] = [];
  const queued = new Set<string>();
  const processing = new Set<string>();
  const dirty = new Set<string>();
  const failures = new Map<string, number>();
  const timers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  const idleWaiters: Array<() => void> = [];
  let running = false;
  let active = 0;
  let stopWaiter: (() => void) | undefined;

  function add(key: string): void {
    if (processing.has(key)) {
      dirty.add(key);
      return;
    }
    if (queued.has(key)) return;
    queued.add(key);
    queue.push(key);
    pump();
  }

  function addAfter(key: string, delayMs: number): void {
    // setTimeout fires at once for delays beyond ~24.8 days: wait at most that long (the key
    // is looked at then, and can ask again).
    const delay = Math.max(0, Math.min(delayMs, MAX_TIMER_MS));
    const due = Date.now() + delay;
    const pending = timers.get(key);
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      timers.delete(key);
      add(key);
    }, delay);
    timer.unref();
    timers.set(key, { timer, due });
  }

  function pump(): void {
    while (running && active < workers && queue.length > 0) {
      const key = queue.shift() as string;
      queued.delete(key);
      processing.add(key);
      active++;
      void run(key);
    }
    checkIdle();
  }

  async function run(key: string): Promise<void> {
    try {
      await reconcile(key);
      failures.delete(key);
    } catch (error) {
      if (error instanceof TerminalError) {
        failures.delete(key);
        options.onError?.(key, error, undefined);
      } else {
        const attempts = (failures.get(key) ?? 0) + 1;
        failures.set(key, attempts);
        const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1));
        options.onError?.(key, error, delay);
        if (running) addAfter(key, delay);
      }
    } finally {
      processing.delete(key);
      active--;
      if (dirty.delete(key)) add(key);
      if (!running && active === 0) stopWaiter?.();
      pump();
    }
  }

  function checkIdle(): void {
    if (queue.length === 0 && active === 0) {
      for (const resolve of idleWaiters.splice(0)) resolve();
    }
  }

  return {
    add,
    addAfter,
    start() {
      running = true;
      pump();
    },
    async stop() {
      running = false;
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
      if (active > 0) await new Promise<void>((resolve) => (stopWaiter = resolve));
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      });
    },
    get length() {
      return queue.length;
    },
  };
}
