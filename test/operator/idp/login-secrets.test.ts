import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { IdpAssociationResource } from '../../../gateway/src/resources/types.ts';
import {
  desiredIdpLoginsSecret,
  loginSecretReferences,
  planIdpLogins,
  sameIdpLoginsSecret,
} from '../../../operator/src/idp/login-secrets.ts';
import type { Reference } from '../../../operator/src/snapshot/reference-reader.ts';

const association = (
  name: string,
  options: { environment?: string; ref?: { name: string; key: string } | null } = {},
): IdpAssociationResource => ({
  apiVersion: 'apiway.net/v1alpha1',
  kind: 'IdpAssociation',
  metadata: { name, namespace: 'platform', generation: 4, uid: `uid-${name}` },
  spec: {
    environment: options.environment ?? 'alpha',
    issuer: 'https://idp.example',
    audiences: ['api://x'],
    apis: [{ name: 'design-api' }],
    login: {
      clientId: 'apiway-gateway',
      ...(options.ref === null
        ? {}
        : { clientSecretRef: options.ref ?? { name: `${name}-login`, key: 'client_secret' } }),
    },
  },
});
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const found = (data: Record<string, string>): Reference<V1Secret> => ({
  found: true,
  object: { data },
});

describe('IdP login secrets of an environment', () => {
  const associations = [
    association('acme'),
    association('public', { ref: null }),
    association('elsewhere', { environment: 'beta' }),
    association('no-secret'),
    association('no-key'),
  ];

  it('reads only the Secrets of its logins with a clientSecretRef', () => {
    expect(loginSecretReferences('alpha', associations)).toEqual([
      'platform/acme-login',
      'platform/no-key-login',
      'platform/no-secret-login',
    ]);
  });

  it('copies each value under its IdpAssociation, and says which reference cannot be had', () => {
    const plan = planIdpLogins(
      'alpha',
      associations,
      new Map<string, Reference<V1Secret>>([
        ['platform/acme-login', found({ client_secret: b64('acme-secret') })],
        ['platform/no-key-login', found({ other: b64('x') })],
        [
          'platform/no-secret-login',
          { found: false, message: 'Secret platform/no-secret-login not found' },
        ],
      ]),
    );
    expect(plan.data).toEqual({ 'platform.acme': b64('acme-secret') });
    expect(plan.outcomes.get('platform/acme')).toEqual({
      generation: 4,
      uid: 'uid-acme',
      environment: 'alpha',
    });
    expect(plan.outcomes.get('platform/no-secret')?.problem).toMatchObject({
      reason: 'SecretNotFound',
      message: expect.stringContaining('Secret platform/no-secret-login not found'),
    });
    expect(plan.outcomes.get('platform/no-key')?.problem).toMatchObject({
      reason: 'SecretInvalid',
      message: expect.stringContaining('no value under key client_secret'),
    });
    // A public login needs nothing; another environment is another Secret's business.
    expect(plan.outcomes.has('platform/public')).toBe(false);
    expect(plan.outcomes.has('platform/elsewhere')).toBe(false);
  });

  it('is written only when its data or labels differ', () => {
    const desired = desiredIdpLoginsSecret('alpha', 'apiway-system', { 'platform.acme': b64('a') });
    expect(desired.metadata).toMatchObject({
      name: 'apiway-idp-logins-alpha',
      namespace: 'apiway-system',
      labels: {
        'app.kubernetes.io/managed-by': 'apiway-operator',
        'apiway.net/idp-logins-environment': 'alpha',
      },
    });
    expect(sameIdpLoginsSecret(undefined, desired)).toBe(false);
    expect(sameIdpLoginsSecret({ ...desired, metadata: { ...desired.metadata } }, desired)).toBe(
      true,
    );
    const rotated = desiredIdpLoginsSecret('alpha', 'apiway-system', { 'platform.acme': b64('b') });
    expect(sameIdpLoginsSecret(rotated, desired)).toBe(false);
    const extra = { ...desired, data: { ...desired.data, 'platform.gone': b64('x') } };
    expect(sameIdpLoginsSecret(extra, desired)).toBe(false);
  });
});
