import { describe, expect, it } from 'vitest';
import { idpLoginSecrets } from '../../../gateway/src/idp/login-secrets.ts';
import type { SecretResource } from '../../../gateway/src/resources/types.ts';
import type { SnapshotIdp } from '../../../gateway/src/snapshot/schema.ts';

function idp(name: string, ref?: { name: string; key: string }): SnapshotIdp {
  return {
    id: `platform/${name}`,
    issuer: `https://${name}.example`,
    audiences: ['x'],
    apis: [],
    scopeClaim: 'scope',
    login: {
      clientId: 'gw',
      ...(ref ? { clientSecretRef: { namespace: 'platform', ...ref } } : {}),
    },
  };
}

function secret(name: string, parts: Pick<SecretResource, 'data' | 'stringData'>): SecretResource {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'platform' }, ...parts };
}

describe('idpLoginSecrets', () => {
  it('resolves each login clientSecretRef from stringData or base64 data, by IdpAssociation id', () => {
    const secrets = [
      secret('plain', { stringData: { client_secret: 'from-string-data' } }),
      secret('encoded', { data: { other: Buffer.from('from-data').toString('base64') } }),
      secret('broken', { data: { client_secret: 'not base64!' } }),
    ];
    const resolved = idpLoginSecrets(
      [
        idp('a', { name: 'plain', key: 'client_secret' }),
        idp('b', { name: 'encoded', key: 'other' }),
        idp('c', { name: 'broken', key: 'client_secret' }),
        idp('d', { name: 'missing', key: 'client_secret' }),
        idp('e', { name: 'plain', key: 'absent' }),
        idp('public'),
      ],
      secrets,
    );
    expect([...resolved]).toEqual([
      ['platform/a', 'from-string-data'],
      ['platform/b', 'from-data'],
    ]);
  });
});
