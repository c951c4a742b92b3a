import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { idpLoginSecretKey } from '../../../gateway/src/kubernetes/names.ts';
import { readIdpLoginSecrets } from '../../../gateway/src/kubernetes/read-idp-logins.ts';
import type { SnapshotIdp } from '../../../gateway/src/snapshot/schema.ts';

const idp = (id: string, withSecret = true): SnapshotIdp => ({
  id,
  issuer: `https://${id.replace('/', '.')}.example`,
  audiences: ['api://x'],
  apis: [],
  scopeClaim: 'scope',
  login: {
    clientId: 'apiway-gateway',
    ...(withSecret
      ? { clientSecretRef: { namespace: id.split('/')[0] as string, name: 'login', key: 'secret' } }
      : {}),
  },
});
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const secret = (data: Record<string, string>): V1Secret => ({
  metadata: { name: 'apiway-idp-logins-alpha', namespace: 'apiway-system' },
  data,
});

describe('the login client secrets a gateway hands to its IdPs', () => {
  it('are looked up by IdpAssociation for the logins that have a clientSecretRef', () => {
    const read = readIdpLoginSecrets(
      secret({
        'platform.acme': b64('acme-secret'),
        'platform.public': b64('never used'),
        'other.stale': b64('left over'),
      }),
      [idp('platform/acme'), idp('platform/public', false), idp('platform/missing')],
    );
    expect([...read.secrets]).toEqual([['platform/acme', 'acme-secret']]);
  });

  it('are none while the Secret does not exist', () => {
    const read = readIdpLoginSecrets(undefined, [idp('platform/acme')]);
    expect(read.secrets.size).toBe(0);
  });

  it('change version whenever a value does, and only then', () => {
    const idps = [idp('platform/acme')];
    const first = readIdpLoginSecrets(secret({ 'platform.acme': b64('one') }), idps);
    const same = readIdpLoginSecrets(
      secret({ 'platform.acme': b64('one'), 'platform.unrelated': b64('x') }),
      idps,
    );
    const rotated = readIdpLoginSecrets(secret({ 'platform.acme': b64('two') }), idps);
    expect(same.version).toBe(first.version);
    expect(rotated.version).not.toBe(first.version);
  });
});

describe('the data key of an IdpAssociation', () => {
  it('is namespace.name, a valid Secret key', () => {
    expect(idpLoginSecretKey('platform/acme-b2c')).toBe('platform.acme-b2c');
    expect(idpLoginSecretKey('platform/acme.b2c')).toBe('platform.acme.b2c');
  });

  it('stays within 253 characters for the longest names, without meeting another key', () => {
    const long = `platform/${'a'.repeat(253)}`;
    const other = `platform/${'a'.repeat(252)}b`;
    const key = idpLoginSecretKey(long);
    expect(key.length).toBeLessThanOrEqual(253);
    expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
    expect(key).not.toBe(idpLoginSecretKey(other));
  });
});
