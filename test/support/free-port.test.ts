import { describe, expect, it } from 'vitest';
import { freePort } from './free-port.ts';

describe('free ports for the servers tests start', () => {
  it('never hands out one port twice, nor the shared Redis port', async () => {
    // A gateway takes two (--port, --admin-port) from calls in a row: equal, it refuses to start.
    const ports: number[] = [];
    for (let i = 0; i < 400; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    expect(ports).not.toContain(6379);
  });
});
