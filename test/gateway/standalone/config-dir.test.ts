import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createResourceValidator,
  type ResourceValidator,
} from '../../../gateway/src/resources/validate.ts';
import {
  type ConfigProblem,
  parseConfigFile,
  readConfigDir,
} from '../../../gateway/src/standalone/config-dir.ts';
import {
  type SelectedObject,
  selectObjects,
} from '../../../gateway/src/standalone/select-objects.ts';

const CRDS = fileURLToPath(new URL('../../../crds/', import.meta.url));

let validator: ResourceValidator;
beforeAll(async () => {
  validator = await createResourceValidator(CRDS);
});

const subscription = (name: string, extra = '') => `apiVersion: apiway.net/v1alpha1
kind: Subscription
metadata: {name: ${name}, namespace: acme}
spec:
  api: {name: design-api, namespace: platform}
${extra}`;

const secret = `apiVersion: v1
kind: Secret
metadata: {name: legacy, namespace: acme}
stringData: {client_id: legacy-client, client_secret: do-not-print-this-value}
`;

function parse(file: string, text: string) {
  const problems: ConfigProblem[] = [];
  return { parsed: parseConfigFile(file, text, validator, problems), problems };
}

describe('parseConfigFile', () => {
  it('reads every document of a multi-document file, with defaults applied', () => {
    const { parsed, problems } = parse(
      'subs.yaml',
      `${subscription('a')}---\n${subscription('b')}---\n${secret}`,
    );
    expect(problems).toEqual([]);
    expect(parsed.entries.map((e) => `${e.document} ${e.kind} ${e.namespace}/${e.name}`)).toEqual([
      '1 Subscription acme/a',
      '2 Subscription acme/b',
      '3 Secret acme/legacy',
    ]);
    // The CRD's defaults, as the API server applies them.
    expect(parsed.entries[0]?.object).toMatchObject({
      spec: { suspended: false, credentials: { apiKey: true } },
    });
  });

  it('keeps an invalid object with the validator messages, naming its document', () => {
    const { parsed } = parse(
      'subs.yaml',
      `${subscription('a')}---\n${subscription('b', '  scopez: [x]\n')}`,
    );
    expect(parsed.entries[1]).toMatchObject({ document: 2, kind: 'Subscription', name: 'b' });
    expect(parsed.entries[1]?.object).toBeUndefined();
    expect(parsed.entries[1]?.errors?.join()).toContain('scopez');
  });

  it('ignores Namespaces, reads Lists item by item, reports other kinds as warnings', () => {
    const { parsed, problems } = parse(
      'mixed.yaml',
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: acme}\n---\napiVersion: v1\nkind: List\nitems:\n${indentList(subscription('a'))}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: acme}\n`,
    );
    expect(parsed.entries.map((e) => e.name)).toEqual(['a']);
    expect(problems).toEqual([
      {
        severity: 'warning',
        subject: 'mixed.yaml (document 3) Deployment acme/web',
        message: 'apps/v1 Deployment is not read by the standalone gateway; ignored',
      },
    ]);
  });

  it('reports a YAML syntax error with its position and never quotes the text', () => {
    const { parsed, problems } = parse(
      'secret.yaml',
      'stringData:\n  client_secret: "s3cr3t-value\n',
    );
    expect(parsed.readable).toBe(false);
    expect(problems[0]?.message).toMatch(/^not valid YAML at line \d+, column \d+/);
    expect(JSON.stringify(problems)).not.toContain('s3cr3t');
  });

  it('reports a JSON syntax error with its position and never quotes the text', () => {
    const { parsed, problems } = parse(
      'secret.json',
      '{"stringData": {"client_secret": "s3cr3t-value" }',
    );
    expect(parsed.readable).toBe(false);
    expect(problems[0]?.message).toMatch(/^not valid JSON/);
    expect(JSON.stringify(problems)).not.toContain('s3cr3t');
  });
});

describe('readConfigDir', () => {
  let dir: string;
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads yaml, yml and json files recursively, skipping dot-dirs, other files and excluded paths', async () => {
    dir = await mkdtemp(join(tmpdir(), 'apiway-config-'));
    await mkdir(join(dir, 'team', 'more'), { recursive: true });
    await mkdir(join(dir, '.git'));
    await mkdir(join(dir, 'state'));
    await writeFile(join(dir, 'a.yaml'), subscription('a'));
    await writeFile(join(dir, 'team', 'b.yml'), subscription('b'));
    await writeFile(
      join(dir, 'team', 'more', 'c.json'),
      JSON.stringify({
        apiVersion: 'apiway.net/v1alpha1',
        kind: 'Subscription',
        metadata: { name: 'c', namespace: 'acme' },
        spec: { api: { name: 'design-api', namespace: 'platform' } },
      }),
    );
    await writeFile(join(dir, '.git', 'x.yaml'), subscription('git'));
    await writeFile(join(dir, 'state', 'credentials.json'), '{"subscriptions": {}}');
    await writeFile(join(dir, 'backend.ts'), 'export {};');

    const read = await readConfigDir(dir, { validator, exclude: [join(dir, 'state')] });
    expect(read.problems).toEqual([]);
    expect(read.files.map((f) => f.file)).toEqual(['a.yaml', 'team/b.yml', 'team/more/c.json']);
  });

  // Regression: symbolic links were skipped, so a mounted ConfigMap (files that are symlinks
  // through `..data`) looked empty.
  it('follows symbolic links to files and directories, once each, past dangling ones', async () => {
    dir = await mkdtemp(join(tmpdir(), 'apiway-config-'));
    await mkdir(join(dir, '..2026_01_01.1', 'nested'), { recursive: true });
    await writeFile(join(dir, '..2026_01_01.1', 'a.yaml'), subscription('a'));
    await writeFile(join(dir, '..2026_01_01.1', 'nested', 'b.yaml'), subscription('b'));
    await symlink('..2026_01_01.1', join(dir, '..data'));
    await symlink(join('..data', 'a.yaml'), join(dir, 'a.yaml'));
    await symlink(join('..data', 'nested'), join(dir, 'nested'));
    await symlink('.', join(dir, 'loop')); // a directory link back to the root
    await symlink('nowhere.yaml', join(dir, 'dangling.yaml'));

    const read = await readConfigDir(dir, { validator });
    expect(read.problems).toEqual([]);
    expect(read.files.map((f) => f.file)).toEqual(['a.yaml', 'nested/b.yaml']);
  });
});

describe('selectObjects', () => {
  const read = (files: Record<string, string>) => {
    const problems: ConfigProblem[] = [];
    return {
      files: Object.entries(files).map(([file, text]) =>
        parseConfigFile(file, text, validator, problems),
      ),
      problems,
    };
  };

  it('keeps the last good version of an object that became invalid, and says so', () => {
    const first = selectObjects(
      read({ 'a.yaml': subscription('a', '  scopes: [one]\n') }),
      new Map(),
    );
    const second = selectObjects(
      read({ 'a.yaml': subscription('a', '  scopez: [two]\n') }),
      first.objects,
    );

    const kept = second.objects.get('Subscription acme/a') as SelectedObject;
    expect(kept.object).toMatchObject({ spec: { scopes: ['one'] } });
    expect(second.problems).toHaveLength(1);
    expect(second.problems[0]).toMatchObject({
      severity: 'error',
      subject: 'a.yaml (document 1) Subscription acme/a',
    });
    expect(second.problems[0]?.message).toMatch(/scopez.*\(still serving its last good version\)$/);
  });

  it('keeps every object of a file that cannot be parsed any more', () => {
    const first = selectObjects(
      read({ 'a.yaml': `${subscription('a')}---\n${subscription('b')}` }),
      new Map(),
    );
    const second = selectObjects(read({ 'a.yaml': 'spec: [unclosed\n' }), first.objects);
    expect([...second.objects.keys()].sort()).toEqual([
      'Subscription acme/a',
      'Subscription acme/b',
    ]);
  });

  it('forgets an object removed from a readable file', () => {
    const first = selectObjects(
      read({ 'a.yaml': `${subscription('a')}---\n${subscription('b')}` }),
      new Map(),
    );
    const second = selectObjects(read({ 'a.yaml': subscription('a') }), first.objects);
    expect([...second.objects.keys()]).toEqual(['Subscription acme/a']);
    expect(second.problems).toEqual([]);
  });

  it('reports a duplicate and keeps the copy that was served', () => {
    const first = selectObjects(
      read({ 'z.yaml': subscription('a', '  scopes: [one]\n') }),
      new Map(),
    );
    const second = selectObjects(
      read({
        'a.yaml': subscription('a', '  scopes: [two]\n'),
        'z.yaml': subscription('a', '  scopes: [one]\n'),
      }),
      first.objects,
    );
    expect(second.objects.get('Subscription acme/a')?.object).toMatchObject({
      spec: { scopes: ['one'] },
    });
    expect(second.problems).toEqual([
      {
        severity: 'error',
        subject: 'a.yaml (document 1) Subscription acme/a',
        message: 'duplicate of z.yaml (document 1); ignored',
      },
    ]);
  });
});

function indentList(document: string): string {
  const lines = document.trimEnd().split('\n');
  return `${lines.map((line, i) => (i === 0 ? `  - ${line}` : `    ${line}`)).join('\n')}\n`;
}
