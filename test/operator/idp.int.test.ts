// IdpAssociations in Kubernetes mode, on the real control plane: the operator and one gateway
// process (`--source kubernetes`), each as its own non-admin identity with the RBAC of
// operator/rbac/, a real OpenID Provider (oidc-provider) on loopback as the IdP, a real backend,
// and a real headless Chromium as the user of a single-page app. The login client secret lives
// in the platform team's namespace; the gateway reads only the operator's copy of it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigPath } from '../control-plane/kube.ts';
import { useTestNamespace } from '../control-plane/namespace.ts';
import {
  launchBrowser,
  singlePageApp,
  singlePageAppResult,
  urlStartsWith,
} from '../support/browser.ts';
import { freePort, type RunningServer, startHttpServer } from '../support/http-server.ts';
import { signInAtTestIdp, startTestIdp, type TestIdp } from '../support/oidc-provider.ts';
import {
  type KubernetesGatewayProcess,
  type OperatorProcess,
  startKubernetesGateway,
  startOperatorProcess,
} from '../support/operator-process.ts';
import {
  apply,
  applyRbac,
  call,
  condition,
  eventually,
  getObject,
  getSecret,
  kubectl,
  type StatusOf,
  secretValue,
} from './support/cluster.ts';
import { PUBLIC_URL } from './support/fixtures.ts';

const system = useTestNamespace('op-idp-system');
const ns = useTestNamespace('op-idp');

const BASE = '/idp-api/v1';
const AUDIENCE = 'api://idp-api';
const LOGIN = { clientId: 'apiway-gateway', secret: 'gateway-login-secret-0123456789' };

let backend: RunningServer;
const backendRequests: IncomingMessage[] = [];
let spa: RunningServer;
let idp: TestIdp;
let operator: OperatorProcess;
let gateway: KubernetesGatewayProcess;
let browser: Browser;
/** The client_id the operator issued to the single-page app's Subscription. */
let spaClientId = '';

type Discovery = {
  healthy?: boolean;
  jwksUri?: string;
  keys?: number;
  lastCheckTime?: string;
  lastSuccessTime?: string;
  message?: string;
};
type ObservedIdp = {
  metadata: { generation?: number };
  status?: StatusOf & { discovery?: Discovery };
};

function idpAssociation(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'apiway.net/v1alpha1',
    kind: 'IdpAssociation',
    metadata: { name, namespace: ns },
    spec: { environment: 'alpha', apis: [{ name: 'idp-api' }], ...spec },
  };
}

function secret(name: string, data: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: data };
}

/** `oauth2` operations take the gateway's tokens and the IdP's; `openIdConnect` ones the IdP's only. */
function document(issuer: string): string {
  return `openapi: 3.1.0
info: {title: IdP API, version: "1"}
components:
  securitySchemes:
    oauth2:
      type: oauth2
      flows:
        authorizationCode:
          authorizationUrl: /oauth2/v2/authorize
          tokenUrl: /oauth2/v2/token
          scopes: {read: read, write: write}
    corporate:
      type: openIdConnect
      openIdConnectUrl: ${issuer}/.well-known/openid-configuration
paths:
  /designs/{id}:
    get: {security: [{oauth2: [read]}], responses: {'200': {description: ok}}}
    options: {security: [], responses: {'204': {description: CORS preflight}}}
  /reports:
    get: {security: [{corporate: [read]}], responses: {'200': {description: ok}}}
`;
}

async function idpStatus(name: string): Promise<ObservedIdp | undefined> {
  return getObject<ObservedIdp & { apiVersion: string; kind: string }>('idpassociations', ns, name);
}

/** Polls until `check` holds for the IdpAssociation at its current generation. */
function waitIdp(name: string, check: (object: ObservedIdp) => boolean, timeoutMs = 30_000) {
  return eventually(
    async () => {
      const object = await idpStatus(name);
      return object &&
        object.status?.observedGeneration === object.metadata.generation &&
        check(object)
        ? object
        : undefined;
    },
    { timeoutMs, describe: async () => JSON.stringify((await idpStatus(name))?.status, null, 2) },
  );
}

beforeAll(async () => {
  backend = await startHttpServer((req: IncomingMessage, res: ServerResponse) => {
    backendRequests.push(req);
    // The single-page app calls the Api from its own origin: the backend answers CORS.
    const cors = {
      'access-control-allow-origin': '*',
      'access-control-allow-headers': 'authorization',
      'access-control-allow-methods': 'GET',
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors).end();
      return;
    }
    res.writeHead(200, { ...cors, 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, scopes: req.headers['x-apiway-scopes'] }));
  });
  await applyRbac(system, ['alpha']);
  // The gateway first: its address is its public URL, which the IdP's login client must know.
  gateway = await startKubernetesGateway({
    kubeconfig: kubeconfigPath('gateway'),
    systemNamespace: system,
    environment: 'alpha',
    identity: 'gw-idp',
  });
  idp = await startTestIdp({
    audience: AUDIENCE,
    scopes: 'read write',
    loginClient: {
      clientId: LOGIN.clientId,
      secret: LOGIN.secret,
      redirectUris: [`${gateway.url}${BASE}/oauth2/v2/authorize/callback`],
    },
  });
  spa = await startHttpServer((_req, res) => {
    const issuer = `${gateway.url}${BASE}`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      singlePageApp({
        issuer,
        authorizationEndpoint: `${issuer}/oauth2/v2/authorize`,
        tokenEndpoint: `${issuer}/oauth2/v2/token`,
        apiUrl: `${issuer}/designs/42`,
        clientId: spaClientId,
        redirectUri: `${spa.url}/callback`,
        scope: 'read',
      }),
    );
  });
  await apply(
    {
      apiVersion: 'apiway.net/v1alpha1',
      kind: 'Api',
      metadata: { name: 'idp-api', namespace: ns },
      spec: {
        displayName: 'IdP API',
        basePath: BASE,
        environments: ['alpha'],
        backend: { url: backend.url },
        openapi: { inline: document(idp.issuer) },
      },
    },
    secret('idp-login', { client_secret: LOGIN.secret }),
    idpAssociation('idp', {
      issuer: idp.issuer,
      audiences: [AUDIENCE],
      login: {
        clientId: LOGIN.clientId,
        clientSecretRef: { name: 'idp-login', key: 'client_secret' },
      },
    }),
    {
      apiVersion: 'apiway.net/v1alpha1',
      kind: 'Subscription',
      metadata: { name: 'spa', namespace: ns },
      spec: {
        api: { name: 'idp-api' },
        scopes: ['read'],
        credentials: {
          clientCredentials: false,
          apiKey: false,
          authorizationCode: { redirectUris: [`${spa.url}/callback`], public: true },
        },
      },
    },
  );
  operator = await startOperatorProcess({
    kubeconfig: kubeconfigPath('operator'),
    systemNamespace: system,
    namespace: ns,
    publicUrls: { alpha: PUBLIC_URL },
    // A Secret the operator reads on demand (not watched) is read again at every resync.
    args: ['--resync-interval', '2s'],
  });
  const credentials = await eventually(() => getSecret(ns, 'spa-credentials'));
  spaClientId = secretValue(credentials, 'client_id') ?? '';
  await waitIdp('idp', (object) => condition(object, 'Ready')?.status === 'True');
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([gateway?.stop(), operator?.stop()]);
  await Promise.all([idp?.close(), spa?.close(), backend?.close()]);
});

describe('tokens the IdP issued', () => {
  it('are accepted on openIdConnect and oauth2 operations with the right audience, refused with another', async () => {
    const token = await idp.machineToken('read');
    expect(decodeJwt(token).aud).toBe(AUDIENCE);
    const bearer = (value: string) => ({ authorization: `Bearer ${value}` });
    await eventually(
      async () => (await call(gateway.url, `${BASE}/reports`, bearer(token))).status === 200,
    );
    expect((await call(gateway.url, `${BASE}/designs/1`, bearer(token))).status).toBe(200);

    const elsewhere = await idp.signToken({
      sub: 'machine-client',
      aud: 'api://elsewhere',
      scope: 'read',
    });
    for (const path of [`${BASE}/reports`, `${BASE}/designs/1`]) {
      const refused = await call(gateway.url, path, bearer(elsewhere));
      expect(refused.status, path).toBe(401);
      expect(refused.headers['www-authenticate']).toContain('invalid_token');
    }
  });
});

describe('the IdpAssociation status', () => {
  it('shows discovery healthy on every ready gateway, next to Accepted and Ready', async () => {
    const object = await waitIdp(
      'idp',
      (o) => condition(o, 'Discovered')?.status === 'True' && o.status?.discovery?.healthy === true,
    );
    expect(object.status?.discovery).toMatchObject({
      healthy: true,
      jwksUri: `${idp.issuer}/jwks`,
      message: '',
    });
    expect(object.status?.discovery?.keys).toBeGreaterThanOrEqual(1);
    expect(Date.parse(object.status?.discovery?.lastSuccessTime ?? '')).not.toBeNaN();
    expect(condition(object, 'Discovered')).toMatchObject({
      reason: 'KeysLoaded',
      observedGeneration: object.metadata.generation,
    });
    expect(condition(object, 'Accepted')?.status).toBe('True');
    expect(object.status).toMatchObject({ replicas: 1, readyReplicas: 1 });
  });
});

describe('login client secrets', () => {
  it('are copied to the system namespace, where the gateway reads them; never from the user namespace', async () => {
    const copy = await eventually(() => getSecret(system, 'apiway-idp-logins-alpha'));
    expect(secretValue(copy, `${ns}.idp`)).toBe(LOGIN.secret);
    expect(copy?.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'apiway-operator',
      'apiway.net/idp-logins-environment': 'alpha',
    });
    await expect(kubectl('gateway', ['get', 'secret', '-n', ns, 'idp-login'])).rejects.toThrow(
      /Forbidden/,
    );
    await expect(
      kubectl('gateway', ['get', 'secret', '-n', system, 'apiway-idp-logins-alpha', '-o', 'name']),
    ).resolves.toContain('apiway-idp-logins-alpha');
  });
});

describe('a single-page app in a real browser, through the Kubernetes-mode gateway', () => {
  it('signs the user in at the IdP, gets consent, redeems the code and calls the Api', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${spa.url}/app`);
      await page.click('#login');
      await signInAtTestIdp(page, idp, 'alice');
      await page.waitForURL(urlStartsWith(`${gateway.url}${BASE}/oauth2/v2/authorize/consent?`));
      expect(await page.textContent('body')).toContain('IdP API');
      await page.click('button[value=approve]');
      await page.waitForURL(urlStartsWith(`${spa.url}/callback?`));
      const result = (await singlePageAppResult(page)) as { token?: { access_token?: string } };
      expect(result).toMatchObject({
        tokenStatus: 200,
        token: { token_type: 'Bearer', scope: 'read' },
        apiStatus: 200,
        api: { path: '/designs/42', scopes: 'read' },
      });
      expect(decodeJwt(result.token?.access_token ?? '')).toMatchObject({
        iss: `${gateway.url}${BASE}`,
        sub: 'alice',
        client_id: spaClientId,
        scope: 'read',
      });
      expect(backendRequests.at(-1)?.headers['x-apiway-subscription']).toBe(`${ns}/spa`);
    } finally {
      await context.close();
    }
  });
});

describe('an IdpAssociation whose login Secret is missing and whose IdP is unreachable', () => {
  it('says which Secret is missing and why discovery fails, and recovers when the Secret appears', async () => {
    const closed = await freePort();
    await apply(
      idpAssociation('zz-unreachable', {
        issuer: `http://127.0.0.1:${closed}`,
        audiences: ['api://nothing'],
        login: {
          clientId: 'apiway-gateway',
          clientSecretRef: { name: 'zz-login', key: 'client_secret' },
        },
      }),
    );
    const broken = await waitIdp(
      'zz-unreachable',
      (o) =>
        condition(o, 'Accepted')?.reason === 'SecretNotFound' &&
        condition(o, 'Discovered')?.status === 'False',
    );
    expect(condition(broken, 'Accepted')).toMatchObject({ status: 'False' });
    expect(condition(broken, 'Accepted')?.message).toContain(`Secret ${ns}/zz-login`);
    expect(condition(broken, 'Discovered')).toMatchObject({ reason: 'DiscoveryFailed' });
    expect(broken.status?.discovery).toMatchObject({ healthy: false, keys: 0 });
    expect(broken.status?.discovery?.message).not.toBe('');

    // The Secret appears: copied at the next resync, without a new snapshot version.
    const before = loadedWithLoginSecrets(1).at(-1);
    expect(before).toBeDefined();
    await apply(secret('zz-login', { client_secret: 'another-login-secret' }));
    await waitIdp('zz-unreachable', (o) => condition(o, 'Accepted')?.status === 'True');
    const copy = await getSecret(system, 'apiway-idp-logins-alpha');
    expect(secretValue(copy, `${ns}.zz-unreachable`)).toBe('another-login-secret');
    const reloaded = await eventually(() => loadedWithLoginSecrets(2).at(-1));
    expect(reloaded.version).toBe(before?.version);
  });
});

/** The gateway's "snapshot loaded" log records that handed over `count` login secrets. */
function loadedWithLoginSecrets(count: number): Array<{ version: string }> {
  return gateway
    .logs()
    .filter((log) => log.msg === 'snapshot loaded' && log.idpLoginSecrets === count)
    .map((log) => ({ version: String(log.version) }));
}
