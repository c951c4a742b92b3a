import { describe, expect, it } from 'vitest';
import { signPerTurn } from '../../../gateway/src/oauth/sign-per-turn.ts';

describe('signPerTurn', () => {
  it('signs the requests of one turn together, once the turn has run, each getting its own JWS', async () => {
    const signed: string[] = [];
    const sign = signPerTurn((claims: { sub: string }) => {
      signed.push(claims.sub);
      return `jws-of-${claims.sub}`;
    });
    const first = sign({ sub: 'a' });
    const second = sign({ sub: 'b' });
    // Nothing is signed while the turn is still handling requests.
    await Promise.resolve();
    expect(signed).toEqual([]);
    expect(await Promise.all([first, second])).toEqual(['jws-of-a', 'jws-of-b']);
    expect(signed).toEqual(['a', 'b']);

    // A later turn starts a batch of its own.
    expect(await sign({ sub: 'c' })).toBe('jws-of-c');
    expect(signed).toEqual(['a', 'b', 'c']);
  });

  it('fails only the request whose signature failed', async () => {
    const sign = signPerTurn((claims: { sub: string }) => {
      if (claims.sub === 'bad') throw new Error('the key cannot sign');
      return `jws-of-${claims.sub}`;
    });
    const results = await Promise.allSettled([
      sign({ sub: 'a' }),
      sign({ sub: 'bad' }),
      sign({ sub: 'b' }),
    ]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'jws-of-a' },
      { status: 'rejected', reason: new Error('the key cannot sign') },
      { status: 'fulfilled', value: 'jws-of-b' },
    ]);
  });
});
