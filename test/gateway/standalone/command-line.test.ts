import { describe, expect, it } from 'vitest';
import { localUrl, parseCommandLine } from '../../../gateway/src/standalone/command-line.ts';

describe('parseCommandLine', () => {
  it('applies the documented defaults', () => {
    expect(parseCommandLine(['--config-dir', 'examples'])).toEqual({
      kind: 'run',
      command: {
        source: 'standalone',
        configDir: 'examples',
        stateDir: '.apiway/state',
        environment: 'alpha',
        host: '127.0.0.1',
        port: 8080,
        adminPort: 9090,
        redisCluster: false,
        rateLimitReplicas: 1,
        logLevel: 'info',
        printCredentials: true,
        shutdownTimeoutSeconds: 10,
      },
    });
  });

  it('reads every flag', () => {
    const parsed = parseCommandLine([
      '--config-dir=c',
      '--state-dir=s',
      '--environment=beta',
      '--host=0.0.0.0',
      '--port=1',
      '--admin-port=2',
      '--public-url=https://api.example.com/',
      '--redis-url=redis://127.0.0.1:6380',
      '--rate-limit-replicas=3',
      '--log-level=debug',
      '--no-print-credentials',
      '--shutdown-timeout=0',
    ]);
    expect(parsed).toMatchObject({
      kind: 'run',
      command: {
        environment: 'beta',
        publicUrl: 'https://api.example.com',
        redisUrl: 'redis://127.0.0.1:6380',
        rateLimitReplicas: 3,
        printCredentials: false,
        shutdownTimeoutSeconds: 0,
      },
    });
  });

  it.each([
    [['--config-dir', 'c', '--port', '70000'], '--port must be a port number'],
    [['--config-dir', 'c', '--port', '9090'], '--port and --admin-port must differ'],
    [
      ['--config-dir', 'c', '--rate-limit-replicas', '0'],
      '--rate-limit-replicas must be at least 1',
    ],
    [['--config-dir', 'c', '--log-level', 'loud'], '--log-level must be one of'],
    [['--config-dir', 'c', '--public-url', 'ftp://x'], '--public-url must be http'],
    [['--config-dir', 'c', '--public-url', 'http://x/?a=1'], 'must not have a query'],
    [['--config-dir', 'c', '--redis-url', 'http://x'], '--redis-url must be'],
    [['--config-dir', 'c', '--environment', 'Alpha'], '--environment must be a DNS label'],
    [['--config-dir', 'c', 'stray'], 'Unexpected argument'],
    [[], '--config-dir DIR is required'],
    [['--source', 'kubernetes'], 'has its own command line'],
  ])('refuses %j', (argv, message) => {
    const parsed = parseCommandLine(argv);
    expect(parsed.kind).toBe('error');
    expect(parsed.kind === 'error' && parsed.message).toContain(message);
  });

  it('answers --help', () => {
    expect(parseCommandLine(['--config-dir', 'c', '-h'])).toEqual({ kind: 'help' });
  });
});

describe('localUrl', () => {
  it('names an address a person can reach', () => {
    expect(localUrl('0.0.0.0', 8080)).toBe('http://127.0.0.1:8080');
    expect(localUrl('::', 8080)).toBe('http://[::1]:8080');
    expect(localUrl('127.0.0.1', 1)).toBe('http://127.0.0.1:1');
  });
});
