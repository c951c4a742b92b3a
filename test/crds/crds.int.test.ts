// The CRDs in a real API server, through kubectl as a user runs it: the same invalid manifests
// the standalone validator rejects are rejected here with the same words, the valid examples are
// accepted and defaulted exactly as standalone mode defaults them, and explain, the `apiway`
// category and the printer columns work. The global setup installs crds/ beforehand.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { createResourceValidator } from '../../gateway/src/resources/validate.ts';
import { kubeconfigPath } from '../control-plane/kube.ts';
import { useTestNamespace } from '../control-plane/namespace.ts';
import { crdDir, invalidDir, readManifests, validDir } from './manifests.ts';

const exec = promisify(execFile);
const namespace = useTestNamespace('crds');
const invalid = readManifests(invalidDir);
const valid = readManifests(validDir);

function kubeconfig(): string {
  return process.env.APIWAY_KUBECONFIG_ADMIN ?? kubeconfigPath('admin');
}

async function kubectl(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('kubectl', ['--kubeconfig', kubeconfig(), ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

/** Whitespace-insensitive: kubectl wraps long lines. */
function squash(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

describe('kubectl apply of invalid manifests', () => {
  it.each(invalid.map((m) => [m.file, m] as const))(
    'rejects %s naming the field',
    async (_file, m) => {
      const result = await kubectl('apply', '-n', namespace, '-f', m.path);
      expect(result.code, result.stdout).not.toBe(0);
      for (const expected of m.expect) expect(result.stderr).toContain(expected);
    },
  );
});

describe('kubectl apply of valid manifests', () => {
  beforeAll(async () => {
    const result = await kubectl('apply', '-n', namespace, '-f', validDir);
    expect(result.code, result.stderr).toBe(0);
  });

  it('stores each object defaulted exactly as standalone mode defaults it', async () => {
    const validator = await createResourceValidator(crdDir);
    for (const m of valid) {
      for (const obj of m.objects) {
        const { kind, metadata } = obj as { kind: string; metadata: { name: string } };
        const got = await kubectl(
          'get',
          kind.toLowerCase(),
          metadata.name,
          '-n',
          namespace,
          '-o',
          'json',
        );
        expect(got.code, got.stderr).toBe(0);
        const standalone = validator.validate(obj);
        if (!standalone.ok) throw new Error(standalone.errors.join('\n'));
        expect(JSON.parse(got.stdout).spec, `${m.file} ${metadata.name}`).toEqual(
          standalone.resource.spec,
        );
      }
    }
  });

  it('lists every kind under the apiway category', async () => {
    const result = await kubectl('get', 'apiway', '-n', namespace, '-o', 'name');
    expect(result.code, result.stderr).toBe(0);
    const expected = valid.flatMap((m) =>
      m.objects.map((o) => {
        const kind = String(o.kind).toLowerCase();
        return `${kind}.apiway.net/${(o.metadata as { name: string }).name}`;
      }),
    );
    expect(result.stdout.trim().split('\n').sort()).toEqual(expected.sort());
  });

  it('shows the printer columns', async () => {
    const headers = async (resource: string) => {
      const result = await kubectl('get', resource, '-n', namespace);
      expect(result.code, result.stderr).toBe(0);
      return result.stdout;
    };
    const apis = await headers('apis');
    expect(apis.split('\n')[0]?.split(/\s+/)).toEqual([
      'NAME',
      'BASEPATH',
      'ENVIRONMENTS',
      'ACCEPTED',
      'READY',
      'AGE',
    ]);
    expect(apis).toMatch(/design-api\s+\/design-api\/v1\s+\["alpha"\]/);
    const products = await headers('products');
    expect(products.split('\n')[0]?.split(/\s+/)).toEqual(['NAME', 'ACCEPTED', 'READY', 'AGE']);
    const subscriptions = await headers('subscriptions');
    expect(subscriptions.split('\n')[0]?.split(/\s+/)).toEqual([
      'NAME',
      'TARGET',
      'SUSPENDED',
      'ACCEPTED',
      'READY',
      'AGE',
    ]);
    // Target is the api's or the product's name, whichever the Subscription has.
    expect(subscriptions).toMatch(/acme-platform\s+apiway-platform\s+false/);
    expect(subscriptions).toMatch(/acme-design\s+design-api\s+false/);
    const idps = await headers('idpassociations');
    expect(idps.split('\n')[0]?.split(/\s+/)).toEqual([
      'NAME',
      'ENVIRONMENT',
      'ISSUER',
      'ACCEPTED',
      'READY',
      'AGE',
    ]);
    expect(idps).toMatch(/acme-b2c\s+alpha\s+https:\/\/acme\.b2clogin\.com\/tenant\/v2\.0\//);
  });

  it('answers to the short names', async () => {
    for (const short of ['awapi', 'awprod', 'awsub', 'awidp']) {
      const result = await kubectl('get', short, '-n', namespace, '-o', 'name');
      expect(result.code, `${short}: ${result.stderr}`).toBe(0);
      expect(result.stdout).not.toBe('');
    }
  });
});

describe('kubectl explain', () => {
  it('shows the field descriptions of the CRDs', async () => {
    const result = await kubectl('explain', 'apis.spec.basePath');
    expect(result.code, result.stderr).toBe(0);
    expect(squash(result.stdout)).toContain(
      'Path prefix under which the gateways serve this Api, unique per environment',
    );
    const sub = await kubectl(
      'explain',
      'subscriptions.spec.credentials.rotation.gracePeriodSeconds',
    );
    expect(squash(sub.stdout)).toContain(
      'How long a replaced value stays valid, in seconds (at most 30 days).',
    );
  });
});
