/**
 * How a paced run's slowest requests are spread in time: scattered (each request pays for its own
 * work) or in episodes (a stall, and everything queued behind it). Session 6 found the p99 at
 * half the peak set by a handful of episodes of 20-340 ms, each delaying hundreds of consecutive
 * requests while the machine's cores were saturated (docs/benchmarks.md, "What remains"); this
 * tells which of the two a run's p99 is, on any machine, without a tracer.
 */

export interface TailEpisodes {
  /** Requests whose latency reached the threshold (the run's p99). */
  slow_requests: number;
  /** Groups of slow requests, each sent within `gapMs` of the one before. */
  episodes: number;
  /** The longest episode, from its first request's send to its last response. */
  longest_ms: number;
  /** Slow requests in the episode holding the most of them. */
  largest_requests: number;
}

/**
 * A slow request sent more than this after the previous slow one starts a new episode. At the
 * rates measured (a few thousand per second) requests go out every fraction of a millisecond,
 * so a stall's victims are sent back to back; a 1% tail spread evenly over a run at 3,000 rps
 * has ~33 ms between slow requests.
 */
export const EPISODE_GAP_MS = 20;

/**
 * `sentAtMs[i]` and `latencyMs[i]` belong to one request (any order; a send time that is not a
 * number is left out). Pure: the arrays are not changed.
 */
export function tailEpisodes(
  sentAtMs: ArrayLike<number>,
  latencyMs: ArrayLike<number>,
  thresholdMs: number,
  gapMs = EPISODE_GAP_MS,
): TailEpisodes {
  const slow: Array<{ sent: number; end: number }> = [];
  for (let i = 0; i < latencyMs.length; i++) {
    const sent = sentAtMs[i] as number;
    const latency = latencyMs[i] as number;
    if (latency >= thresholdMs && Number.isFinite(sent)) slow.push({ sent, end: sent + latency });
  }
  slow.sort((a, b) => a.sent - b.sent);
  const episodes: Array<{ first: number; lastSent: number; end: number; size: number }> = [];
  for (const request of slow) {
    const current = episodes.at(-1);
    if (current && request.sent - current.lastSent <= gapMs) {
      current.lastSent = request.sent;
      current.end = Math.max(current.end, request.end);
      current.size++;
    } else {
      episodes.push({ first: request.sent, lastSent: request.sent, end: request.end, size: 1 });
    }
  }
  return {
    slow_requests: slow.length,
    episodes: episodes.length,
    longest_ms: episodes.reduce((most, episode) => Math.max(most, episode.end - episode.first), 0),
    largest_requests: episodes.reduce((most, episode) => Math.max(most, episode.size), 0),
  };
}

/** `106 slow in 3 episodes, longest 73 ms` (`… slow, scattered` when each slow request stands alone). */
export function describeTail(tail: TailEpisodes): string {
  if (tail.slow_requests === 0) return 'no slow requests';
  if (tail.largest_requests === 1) return `${tail.slow_requests} slow, scattered`;
  return `${tail.slow_requests} slow in ${tail.episodes} episode${tail.episodes === 1 ? '' : 's'}, longest ${tail.longest_ms.toFixed(0)} ms`;
}
