/**
 * Signing keys of an environment, generated and loaded for use (see signing-keys.ts for their
 * lifecycle). Loading imports every key once, off the request path, and answers three
 * questions: which key signs for an algorithm (`active` only), which key verifies a `kid`
 * (`next`, `active`, and `retired` until `retireAfter`), and what the JWKS publishes (the same
 * set, public members only).
 *
 * `next` keys verify as well as being published: during a rotation, a replica that already
 * promoted the key may sign with it while another still holds it as `next`, and the tokens must
 * work on every replica.
 *
 * Each active key carries its signer, built here once per key (a reloaded key set builds new
 * ones). ES256 signs through fast-jwt, synchronously on node:crypto: Node (24) makes an ECDSA
 * signature in the IEEE P1363 form a JWS carries (which WebCrypto, so jose, always asks for) at
 * twice the CPU of the same signature in DER (~70 µs against ~34 µs here), and fast-jwt signs
 * in DER and converts in JavaScript (see docs/benchmarks.md; re-measure on a Node upgrade).
 * RS256 stays on jose and WebCrypto: an RSA signature costs the same CPU either way (~0.5 ms),
 * and on WebCrypto's thread pool it does not hold the event loop, and every request behind it,
 * for that long. jose still imports every key (it checks the JWK), verifies tokens and serves
 * the JWKS.
 */

import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import {
  CompactSign,
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import { signPerTurn } from './sign-per-turn.ts';
import type { SigningAlgorithm, SigningKey, SigningKeySet } from './signing-keys.ts';

export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'RS256'];

/** RSA keys below this size are refused (RFC 7518 §3.3 requires 2048 bits for RS256). */
const RSA_MODULUS_BITS = 2048;

/** The `active` key of an algorithm, ready to sign. */
export interface ActiveSigningKey {
  kid: string;
  /** The private key as jose imported it (non-extractable). */
  key: CryptoKey;
  /**
   * The compact JWS of `claims`, with the protected header `{ alg, typ, kid }` in that order.
   * The payload is `JSON.stringify(claims)` as given: no claim is added (no `iat`, `exp` or
   * `nbf` of the signer's own), changed or dropped, so `claims` must carry `iat` itself.
   */
  signJwt(claims: JwtClaims, typ: string): Promise<string>;
}

/** A JWT's claims (any JSON object); `iat` (whole seconds) is required so the signer never adds its own. */
export interface JwtClaims {
  readonly iat: number;
}

export interface LoadedKeys {
  /** The `active` key of this algorithm: the only kind that signs. */
  signingKey(alg: SigningAlgorithm): ActiveSigningKey | undefined;
  /**
   * The public key that verifies tokens carrying this `kid`, if it is still trusted at `now`
   * (default: the time the keys were loaded). Does not check the token's `alg`: the caller pins it.
   */
  verificationKey(kid: string, now?: Date): { alg: SigningAlgorithm; key: CryptoKey } | undefined;
  /** RFC 7517 key set of every trusted key at `now` (default: load time): public members only. */
  jwks(now?: Date): { keys: JWK[] };
}

/**
 * A new key pair for `alg` (ES256: P-256; RS256: 2048-bit RSA), its `kid` the RFC 7638 JWK
 * thumbprint (SHA-256) of its public key, so the same key always has the same id.
 */
export async function generateSigningKey(
  alg: SigningAlgorithm,
  state: SigningKey['state'],
  options: { retireAfter?: string } = {},
): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    modulusLength: RSA_MODULUS_BITS,
  });
  const exported = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicMembers(alg, exported), 'sha256');
  const key: SigningKey = { kid, alg, state, privateJwk: { ...exported, kid, alg } };
  if (options.retireAfter !== undefined) key.retireAfter = options.retireAfter;
  return key;
}

interface TrustedKey {
  kid: string;
  alg: SigningAlgorithm;
  publicJwk: JWK;
  publicKey: CryptoKey;
  /** Epoch ms after which the key is neither published nor accepted; absent: no end. */
  notAfter?: number;
}

/**
 * Imports a key set. Throws (a plain Error naming the `kid`, never key material) when the set
 * is unusable: a key whose JWK does not fit its algorithm, an active key without its private
 * part, two keys with one `kid`, or two active keys for one algorithm. The caller keeps the
 * keys it had.
 *
 * A `retired` key without `retireAfter`, or whose `retireAfter` is not a date, is not trusted:
 * `retireAfter` is the only thing that bounds its life.
 */
export async function loadSigningKeys(set: SigningKeySet, now: Date): Promise<LoadedKeys> {
  const loadedAt = now;
  const signing = new Map<SigningAlgorithm, ActiveSigningKey>();
  const trusted = new Map<string, TrustedKey>();

  for (const entry of set.keys) {
    if (!SIGNING_ALGORITHMS.includes(entry.alg)) {
      throw new Error(`Signing key ${entry.kid}: unsupported algorithm.`);
    }
    if (trusted.has(entry.kid)) {
      throw new Error(`Signing key ${entry.kid}: duplicate kid.`);
    }
    const publicJwk = publicMembers(entry.alg, entry.privateJwk, entry.kid);
    const publicKey = await importKey(publicJwk, entry.alg, entry.kid);

    if (entry.state === 'active') {
      if (signing.has(entry.alg))
        throw new Error(`Signing key ${entry.kid}: a second active ${entry.alg} key.`);
      if (typeof entry.privateJwk.d !== 'string') {
        throw new Error(`Signing key ${entry.kid}: an active key needs its private part.`);
      }
      const key = await importKey(entry.privateJwk, entry.alg, entry.kid);
      signing.set(entry.alg, {
        kid: entry.kid,
        key,
        signJwt:
          entry.alg === 'ES256'
            ? es256Signer(entry.privateJwk, entry.kid)
            : (claims, typ) =>
                new CompactSign(Buffer.from(JSON.stringify(claims), 'utf8'))
                  .setProtectedHeader({ alg: entry.alg, typ, kid: entry.kid })
                  .sign(key),
      });
    }

    const trustedKey: TrustedKey = { kid: entry.kid, alg: entry.alg, publicJwk, publicKey };
    if (entry.state === 'retired') {
      const notAfter = entry.retireAfter === undefined ? Number.NaN : Date.parse(entry.retireAfter);
      // Unbounded or unreadable: fail closed rather than trust a retired key forever.
      trustedKey.notAfter = Number.isNaN(notAfter) ? Number.NEGATIVE_INFINITY : notAfter;
    }
    trusted.set(entry.kid, trustedKey);
  }

  const isTrusted = (key: TrustedKey, at: Date): boolean =>
    key.notAfter === undefined || at.getTime() < key.notAfter;

  return {
    signingKey(alg) {
      return signing.get(alg);
    },
    verificationKey(kid, at = loadedAt) {
      const key = trusted.get(kid);
      if (!key || !isTrusted(key, at)) return undefined;
      return { alg: key.alg, key: key.publicKey };
    },
    jwks(at = loadedAt) {
      const keys: JWK[] = [];
      for (const key of trusted.values()) if (isTrusted(key, at)) keys.push({ ...key.publicJwk });
      return { keys };
    },
  };
}

/**
 * The public JWK of a (private) JWK, built by whitelisting the public members of its type, so
 * no private member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`…) can ever leak, whatever the
 * input carries. Checks that the key type fits the algorithm.
 */
function publicMembers(alg: SigningAlgorithm, jwk: JWK, kid?: string): JWK {
  const label = kid ?? 'new key';
  const extra: JWK = kid === undefined ? {} : { kid, alg, use: 'sig' };
  if (alg === 'ES256') {
    if (
      jwk.kty !== 'EC' ||
      jwk.crv !== 'P-256' ||
      typeof jwk.x !== 'string' ||
      typeof jwk.y !== 'string'
    ) {
      throw new Error(`Signing key ${label}: ES256 needs an EC P-256 key.`);
    }
    return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ...extra };
  }
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') {
    throw new Error(`Signing key ${label}: RS256 needs an RSA key.`);
  }
  if (Buffer.from(jwk.n, 'base64url').length * 8 < RSA_MODULUS_BITS) {
    throw new Error(
      `Signing key ${label}: RS256 needs an RSA key of at least ${RSA_MODULUS_BITS} bits.`,
    );
  }
  return { kty: 'RSA', n: jwk.n, e: jwk.e, ...extra };
}

async function importKey(jwk: JWK, alg: SigningAlgorithm, kid: string): Promise<CryptoKey> {
  let key: CryptoKey | Uint8Array;
  try {
    key = await importJWK(jwk, alg, { extractable: false });
  } catch (error) {
    throw new Error(`Signing key ${kid}: its JWK cannot be imported.`, { cause: error });
  }
  if (key instanceof Uint8Array) throw new Error(`Signing key ${kid}: not an asymmetric key.`);
  return key;
}

/**
 * `signJwt` of an active ES256 key: one fast-jwt signer per `typ` (the gateway uses one), built
 * on first use and kept with the key. fast-jwt adds `iat` only when the claims have none (they
 * always do: `JwtClaims`), `exp` and `nbf` only from its `expiresIn` / `notBefore` options (not
 * set), and keeps the claims' order, so its payload is `JSON.stringify(claims)`; its header is
 * `{ alg, typ, kid }`, as jose's (its `header` option overwrites its default `typ` in place).
 * It takes the key as PEM: exported here from the JWK, once. The signatures of one turn of the
 * event loop are made together, at its end (sign-per-turn.ts says why).
 */
function es256Signer(privateJwk: JWK, kid: string): ActiveSigningKey['signJwt'] {
  let pem: string;
  try {
    pem = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
  } catch (error) {
    throw new Error(`Signing key ${kid}: its JWK cannot be imported.`, { cause: error });
  }
  const signers = new Map<string, (claims: JwtClaims) => Promise<string>>();
  return (claims, typ) => {
    let sign = signers.get(typ);
    if (!sign) {
      sign = signPerTurn(
        createSigner({ key: pem, algorithm: 'ES256', kid, header: { alg: 'ES256', typ } }),
      );
      signers.set(typ, sign);
    }
    return sign(claims);
  };
}
