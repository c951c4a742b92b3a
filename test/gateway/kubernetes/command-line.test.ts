import { describe, expect, it } from 'vitest';
import {
  isKubernetesSource,
  parseKubernetesCommandLine,
} from '../../../gateway/src/kubernetes/command-line.ts';
import {
  gatewayReportLeaseName,
  snapshotManifestName,
  snapshotShardName,
} from '../../../gateway/src/kubernetes/names.ts';

describe('apiway-gateway --source kubernetes', () => {
  it('is selected by --source kubernetes in either spelling', () => {
    expect(isKubernetesSource(['--source', 'kubernetes'])).toBe(true);
    expect(isKubernetesSource(['--source=kubernetes', '--port', '1'])).toBe(true);
    expect(isKubernetesSource(['--config-dir', 'examples'])).toBe(false);
  });

  it('defaults to the system namespace and the host name, and checks the shared options like standalone', () => {
    const parsed = parseKubernetesCommandLine(
      ['--source', 'kubernetes', '--environment', 'beta', '--port', '0'],
      'pod-1',
    );
    expect(parsed).toMatchObject({
      kind: 'run',
      command: {
        source: 'kubernetes',
        environment: 'beta',
        namespace: 'apiway-system',
        identity: 'pod-1',
        port: 0,
      },
    });
    const custom = parseKubernetesCommandLine(
      ['--source=kubernetes', '--namespace=ops', '--identity', 'gw-2'],
      'pod-1',
    );
    expect(custom).toMatchObject({
      kind: 'run',
      command: { namespace: 'ops', identity: 'gw-2', environment: 'alpha' },
    });
    expect(
      parseKubernetesCommandLine(['--source', 'kubernetes', '--port', 'x'], 'h'),
    ).toMatchObject({ kind: 'error' });
  });

  it('refuses what only the standalone source reads', () => {
    expect(
      parseKubernetesCommandLine(['--source', 'kubernetes', '--config-dir', 'x'], 'h'),
    ).toEqual({
      kind: 'error',
      message: '--config-dir is for the standalone source, not --source kubernetes',
    });
    expect(
      parseKubernetesCommandLine(['--source', 'kubernetes', '--namespace', 'Bad_NS'], 'h'),
    ).toMatchObject({ kind: 'error' });
  });
});

describe('names in the system namespace', () => {
  it('never collide between environments', () => {
    // With `-` as separator, alpha's shard 0 would be environment alpha-0's manifest.
    expect(snapshotShardName('alpha', 0)).not.toBe(snapshotManifestName('alpha-0'));
    expect(gatewayReportLeaseName('a', 'b-c')).not.toBe(gatewayReportLeaseName('a-b', 'c'));
    expect(gatewayReportLeaseName('alpha', 'Gateway_7.local')).toBe(
      'apiway-gw-alpha.gateway-7.local',
    );
  });
});
