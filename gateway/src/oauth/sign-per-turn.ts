/**
 * Signatures made one turn of the event loop at a time.
 *
 * An ECDSA signature is fast only while OpenSSL's precomputed tables for the curve sit in the
 * core's cache: alone in a loop, a P-256 signature here costs ~24 µs of CPU; made between two
 * HTTP requests, whose parsing, buffers and objects have evicted those tables, ~75 µs. So the
 * token requests of one turn (those whose bytes arrived together) do not sign as each is
 * handled: each queues its claims, and once the turn's callbacks have run (`setImmediate`) the
 * whole queue is signed in a row, the first signature warming the cache for the others. Under
 * load (50 connections) the gateway's CPU per ES256 token halved (docs/benchmarks.md, "Where the
 * time goes", item 11); an idle gateway signs one request per turn, exactly as before, having
 * waited for nothing but the end of its turn.
 */

/** `sign`, deferred to the end of the turn and run there for every input queued in it. */
export function signPerTurn<I>(sign: (input: I) => string): (input: I) => Promise<string> {
  let queue: Array<{ input: I; resolve: (jws: string) => void; reject: (error: unknown) => void }> =
    [];
  const flush = (): void => {
    const batch = queue;
    queue = [];
    for (const { input, resolve, reject } of batch) {
      // One failed signature fails its own request only.
      try {
        resolve(sign(input));
      } catch (error) {
        reject(error);
      }
    }
  };
  return (input) =>
    new Promise((resolve, reject) => {
      if (queue.push({ input, resolve, reject }) === 1) setImmediate(flush);
    });
}
