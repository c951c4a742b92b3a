import { describe, expect, it } from 'vitest';
import { describeTail, tailEpisodes } from '../../bench/lib/tail-episodes.ts';

/** Requests sent every `everyMs` from 0, each with the latency `latency(i)`. */
function run(count: number, everyMs: number, latency: (i: number) => number) {
  const sent = Array.from({ length: count }, (_, i) => i * everyMs);
  return { sent, latencies: sent.map((_, i) => latency(i)) };
}

describe('how the slowest requests of a run are spread in time', () => {
  it('finds a stall: the requests sent during it, back to back, are one episode', () => {
    // 1,000 requests at one per ms; the server stalls from 500 to 540 ms, and everything sent
    // meanwhile is answered at 541 ms. The 32 sent by 531 ms waited 10 ms or more.
    const { sent, latencies } = run(1000, 1, (i) => (i >= 500 && i < 540 ? 541 - i : 1));
    const tail = tailEpisodes(sent, latencies, 10);
    expect(tail).toEqual({ slow_requests: 32, episodes: 1, longest_ms: 41, largest_requests: 32 });
    expect(describeTail(tail)).toBe('32 slow in 1 episode, longest 41 ms');
  });

  it('tells a tail spread over the run, one slow request at a time, from episodes', () => {
    // Every 100th request is slow: 100 ms apart, more than the gap that joins an episode.
    const { sent, latencies } = run(1000, 1, (i) => (i % 100 === 0 ? 12 : 1));
    const tail = tailEpisodes(sent, latencies, 10);
    expect(tail.slow_requests).toBe(10);
    expect(tail.episodes).toBe(10);
    expect(tail.largest_requests).toBe(1);
    expect(describeTail(tail)).toBe('10 slow, scattered');
  });

  it('takes requests in the order they completed, and leaves out those without a send time', () => {
    // Two stalls, the later one listed first (completion order), and one request not timed
    // from its send.
    const sent = [300, 301, 302, 0, 1, Number.NaN];
    const latencies = [20, 19, 18, 50, 49, 99];
    const tail = tailEpisodes(sent, latencies, 15);
    expect(tail).toEqual({ slow_requests: 5, episodes: 2, longest_ms: 50, largest_requests: 3 });
    expect(sent).toEqual([300, 301, 302, 0, 1, Number.NaN]);
  });

  it('says so when nothing reached the threshold', () => {
    const tail = tailEpisodes([0, 1], [1, 1], 5);
    expect(tail).toEqual({ slow_requests: 0, episodes: 0, longest_ms: 0, largest_requests: 0 });
    expect(describeTail(tail)).toBe('no slow requests');
  });
});
