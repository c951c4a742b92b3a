// A real Kubernetes control plane on loopback for tests and for people: etcd, kube-apiserver
// (RBAC, client-certificate users) and kube-controller-manager (garbage collection, namespace
// finalization, service accounts), the way controller-runtime's envtest does it, plus the
// controller manager that envtest leaves out. Binaries come from build.sh (built from Go
// modules, cached per version) or KUBEBUILDER_ASSETS.
//
// Certificates are made with the openssl CLI: Node's crypto cannot issue X.509 certificates.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/free-port.ts';

const run = promisify(execFile);

/** The identities tests act as. Only `admin` bypasses RBAC (group system:masters). */
export type Identity = 'admin' | 'operator' | 'gateway';

/** Who each identity is to the API server; RBAC rules in the chart and tests bind these. */
export const identities: Record<Identity, { user: string; groups: string[] }> = {
  admin: { user: 'apiway-admin', groups: ['system:masters'] },
  operator: { user: 'apiway-operator', groups: [] },
  gateway: { user: 'apiway-gateway', groups: ['apiway:gateways'] },
};

export interface ControlPlane {
  /** The API server's URL, e.g. https://127.0.0.1:40123. */
  server: string;
  /** A kubeconfig file authenticating as `identity`. */
  kubeconfigPath(identity: Identity): string;
  /** Stops whatever this started and removes its temporary files. */
  stop(): Promise<void>;
}

export interface Binaries {
  etcd: string;
  'kube-apiserver': string;
  'kube-controller-manager': string;
}

export interface StartOptions {
  /** Point at this existing cluster (e.g. kind) instead of starting one; see connectToCluster. */
  existingKubeconfig?: string | undefined;
  /** Where certificates, kubeconfigs, logs and etcd data go; a temp dir (removed on stop) if unset. */
  dir?: string;
  /** Start the processes in their own session and let them outlive this process (cluster:up). */
  detached?: boolean;
  /** A dir of CRD manifests to install before kube-controller-manager starts (see installCrds). */
  crds?: string;
  binaries?: Binaries;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

const buildScript = join(import.meta.dirname, 'build.sh');

/**
 * Runs build.sh (idempotent; seconds when the binaries are cached, about 6 min cold on 2 idle cores) and returns
 * where the binaries are. Build progress goes to stderr so a person sees it.
 */
export async function ensureBinaries(): Promise<Binaries> {
  const child = spawn('bash', [buildScript], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    process.stderr.write(chunk);
    err = (err + chunk).slice(-2_000); // the tail names what went wrong, e.g. Go missing
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject).on('close', resolve);
  });
  if (code !== 0) {
    throw new Error(
      `test/control-plane/build.sh failed (exit ${code}). It needs Go >= 1.24 and openssl, or ` +
        `KUBEBUILDER_ASSETS with etcd, kube-apiserver and kube-controller-manager. Its last words:\n${err}`,
    );
  }
  const paths = new Map(
    out
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
  const path = (name: keyof Binaries) => {
    const found = paths.get(name);
    if (!found) throw new Error(`build.sh did not report where ${name} is:\n${out}`);
    return found;
  };
  return {
    etcd: path('etcd'),
    'kube-apiserver': path('kube-apiserver'),
    'kube-controller-manager': path('kube-controller-manager'),
  };
}

interface Launched {
  name: string;
  child: ChildProcess;
}

/** What stopControlPlane needs to find the processes again, also from another process. */
interface State {
  server: string;
  dir: string;
  removeDir: boolean;
  detached: boolean;
  processes: { name: string; pid: number; binary: string }[];
}

const stateFile = (dir: string) => join(dir, 'state.json');
const kubeconfigFile = (dir: string, identity: Identity | 'controller-manager') =>
  join(dir, identity === 'admin' ? 'kubeconfig' : `${identity}.kubeconfig`);

export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  if (opts.existingKubeconfig) {
    const cluster = await connectToCluster(opts.existingKubeconfig);
    if (opts.crds)
      await installCrds(opts.existingKubeconfig, opts.crds).catch(async (err) => {
        await cluster.stop();
        throw err;
      });
    return cluster;
  }
  const binaries = opts.binaries ?? (await ensureBinaries());
  for (let attempt = 1; ; attempt++) {
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'apiway-control-plane-')));
    try {
      return await startIn(dir, binaries, opts);
    } catch (err) {
      // A port found free can be taken before our server binds it (other test runs share the
      // machine): start again on new ports.
      if (attempt === 3 || !String(err).includes('address already in use')) throw err;
      opts.log?.('a port was taken meanwhile; starting again');
      if (opts.dir) await rm(opts.dir, { recursive: true, force: true });
    }
  }
}

/** Starts the three processes with their state in `dir`; cleans up after itself on failure. */
async function startIn(dir: string, binaries: Binaries, opts: StartOptions): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  await mkdir(dir, { recursive: true });
  const state: State = {
    server: '',
    dir,
    removeDir: opts.dir === undefined,
    detached: opts.detached ?? false,
    processes: [],
  };
  const children: Launched[] = [];
  // Catches a test process that exits without running its teardown (setpriv below covers one
  // that is killed outright).
  const killOnExit = () => {
    for (const { child } of children) child.kill('SIGKILL');
    if (state.removeDir) rmSync(dir, { recursive: true, force: true });
  };
  if (!state.detached) process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    await stopControlPlane(dir);
    if (state.removeDir) await rm(dir, { recursive: true, force: true });
  };

  const launch = async (name: keyof Binaries, args: string[]) => {
    const out = openSync(join(dir, `${name}.log`), 'a');
    // Attached (tests): setpriv makes the kernel SIGKILL the process when its parent dies, so
    // even a test runner killed with SIGKILL leaves no control plane behind.
    const [command, argv] =
      state.detached || !existsSync('/usr/bin/setpriv')
        ? [binaries[name], args]
        : ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', binaries[name], ...args]];
    const child = spawn(command, argv, { detached: state.detached, stdio: ['ignore', out, out] });
    closeSync(out);
    if (state.detached) child.unref();
    const launched = { name, child };
    children.push(launched);
    state.processes.push({ name, pid: child.pid ?? -1, binary: binaries[name] });
    await writeFile(stateFile(dir), JSON.stringify(state, null, 2)); // stopControlPlane reads it
    return launched;
  };

  try {
    const started = Date.now();
    const deadline = started + (opts.readyTimeoutMs ?? 90_000);
    const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    await makeCertificates(dir);

    // Ports are picked right before each launch to keep the window for a clash short.
    const [etcdPort, etcdPeerPort] = [await freePort(), await freePort()];
    const etcd = await launch('etcd', [
      '--name=apiway',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=apiway=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync', // throwaway data: skipping fsync makes every write much faster
      '--log-level=warn',
    ]);
    await waitFor('etcd', [etcd], deadline, dir, async () => {
      const res = await fetch(`http://127.0.0.1:${etcdPort}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    });
    log(`etcd ready after ${elapsed()}`);

    const apiPort = await freePort();
    state.server = `https://127.0.0.1:${apiPort}`;
    await writeKubeconfigs(dir, state.server);
    const apiserver = await launch('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${dir}`, // defaults to /var/run/kubernetes
      `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
      `--client-ca-file=${join(dir, 'ca.crt')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      // Only allocated to Services, never routed to: nothing here sends traffic there.
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC', // so the operator's and gateway's own RBAC is exercised
      // No pods run here: ServiceAccount admission would demand token volumes, and there are
      // no endpoints to reconcile.
      '--disable-admission-plugins=ServiceAccount',
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      '--profiling=false',
    ]);
    const admin = clientCert(dir, 'admin');
    const status = (path: string) => httpsGet(`${state.server}${path}`, admin);
    await waitFor('kube-apiserver', [etcd, apiserver], deadline, dir, async () => {
      return (
        (await status('/readyz')) === 200 && (await status('/api/v1/namespaces/default')) === 200
      );
    });
    log(`kube-apiserver ready after ${elapsed()}`);
    // Before the manager: its garbage collector rediscovers API kinds only every 30 s, and
    // would not collect objects owned by custom resources until then.
    if (opts.crds) await installCrds(kubeconfigFile(dir, 'admin'), opts.crds);

    const controllerManager = await launch('kube-controller-manager', [
      `--kubeconfig=${kubeconfigFile(dir, 'controller-manager')}`,
      '--leader-elect=false',
      '--secure-port=0', // no health/metrics endpoint needed: saves a port and delegated auth
      // Only what tests rely on: owner-reference GC, namespace deletion, service accounts/tokens.
      '--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller',
      `--service-account-private-key-file=${join(dir, 'sa.key')}`,
      `--root-ca-file=${join(dir, 'ca.crt')}`,
    ]);
    // The service-account controller creating default/default shows the manager is working.
    const all = [etcd, apiserver, controllerManager];
    await waitFor('kube-controller-manager', all, deadline, dir, async () => {
      return (await status('/api/v1/namespaces/default/serviceaccounts/default')) === 200;
    });
    log(`control plane ready at ${state.server} after ${elapsed()}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    server: state.server,
    kubeconfigPath: (identity) => kubeconfigFile(dir, identity),
    stop,
  };
}

/**
 * The control plane started with `dir` by another process (`npm run cluster:up`), if all of its
 * processes still run.
 */
export async function runningControlPlane(dir: string): Promise<ControlPlane | undefined> {
  const state = await readState(dir);
  if (!state) return undefined;
  if (state.processes.length < 3 || !state.processes.every((p) => runs(p.pid, p.binary)))
    return undefined;
  return {
    server: state.server,
    kubeconfigPath: (identity) => kubeconfigFile(dir, identity),
    stop: () => stopControlPlane(dir),
  };
}

/**
 * Stops the control plane whose state is in `dir` (possibly started by another process, as by
 * `npm run cluster:up`) and removes its files. A pid is only signalled while /proc shows it
 * still runs the binary we started, so a stale state file never kills an unrelated process.
 */
export async function stopControlPlane(dir: string): Promise<void> {
  const state = await readState(dir);
  const processes = state?.processes ?? [];
  // Also those whose state file is gone (say, something deleted .apiway/): they name `dir` in
  // their arguments, which no unrelated process does.
  for (const stray of await processesUsing(dir)) {
    if (!processes.some((p) => p.pid === stray.pid)) processes.push(stray);
  }
  const order = ['kube-controller-manager', 'kube-apiserver', 'etcd']; // etcd last
  processes.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  for (const p of processes) {
    if (!runs(p.pid, p.binary)) continue;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(state?.detached ? -p.pid : p.pid, sig);
      } catch {}
    };
    signal('SIGTERM');
    const deadline = Date.now() + 10_000;
    while (runs(p.pid, p.binary) && Date.now() < deadline) await sleep(50);
    if (runs(p.pid, p.binary)) signal('SIGKILL');
    while (runs(p.pid, p.binary)) await sleep(20);
  }
  await rm(stateFile(dir), { force: true });
  if (state?.removeDir) await rm(dir, { recursive: true, force: true });
}

async function readState(dir: string): Promise<State | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(dir), 'utf8')) as State;
  } catch {
    return undefined; // never started, or already stopped
  }
}

/** Our binaries whose arguments point into `dir`, found through /proc. */
async function processesUsing(dir: string): Promise<State['processes']> {
  const found: State['processes'] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    const binary = argv.find((arg) => /\/(etcd|kube-apiserver|kube-controller-manager)$/.test(arg));
    if (binary && argv.some((arg) => arg.includes(`=${dir}/`))) {
      found.push({ name: binary.slice(binary.lastIndexOf('/') + 1), pid: Number(entry), binary });
    }
  }
  return found;
}

/** Whether `pid` is alive and runs `binary`, maybe still through setpriv (not a zombie, not a recycled pid). */
function runs(pid: number, binary: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(binary);
  } catch {
    return false;
  }
}

/**
 * Uses an existing cluster (e.g. kind) instead of starting one. `admin` is the given kubeconfig;
 * `operator` and `gateway` are copies that impersonate their user and groups (`as`/`as-groups`),
 * so the kubeconfig's user must be allowed to impersonate (cluster-admin is). kubectl honours
 * both fields; @kubernetes/client-node 2.x sends only Impersonate-User, so through it RBAC
 * bound to a group (apiway:gateways) does not apply on such a cluster.
 */
export async function connectToCluster(kubeconfig: string): Promise<ControlPlane> {
  const dir = await mkdtemp(join(tmpdir(), 'apiway-cluster-'));
  const { stdout } = await run('kubectl', [
    '--kubeconfig',
    kubeconfig,
    'config',
    'view',
    '--raw',
    '--flatten',
    '--minify',
    '-o',
    'json',
  ]);
  const config = JSON.parse(stdout);
  for (const identity of ['operator', 'gateway'] as const) {
    const { user, groups } = identities[identity];
    const impersonating = structuredClone(config);
    Object.assign(impersonating.users[0].user, {
      as: user,
      'as-groups': groups.length ? groups : undefined,
    });
    await writeFile(kubeconfigFile(dir, identity), JSON.stringify(impersonating, null, 2), {
      mode: 0o600,
    });
  }
  return {
    server: config.clusters[0].cluster.server,
    kubeconfigPath: (identity) =>
      identity === 'admin' ? kubeconfig : kubeconfigFile(dir, identity),
    stop: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Applies every manifest in `dir` server-side, then waits until each CRD is Established and
 * listed by discovery (seconds after Established: until then `kubectl get <category>` and
 * clients fail, and watches may get 429). Does nothing if `dir` has no YAML.
 */
export async function installCrds(kubeconfig: string, dir: string): Promise<void> {
  const files = existsSync(dir) ? (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)) : [];
  if (files.length === 0) return;
  const kubectl = async (...args: string[]) => {
    try {
      return (await run('kubectl', ['--kubeconfig', kubeconfig, ...args])).stdout;
    } catch (err) {
      throw new Error(
        `kubectl ${args.join(' ')} failed:\n${(err as { stderr?: string }).stderr ?? err}`,
      );
    }
  };
  const fieldManager = '--field-manager=apiway-tests';
  await kubectl('apply', '--server-side', '--force-conflicts', fieldManager, '-f', dir);
  await kubectl('wait', '--for=condition=Established', '--timeout=60s', '-f', dir);
  // A CRD is named <plural>.<group>, which is how `api-resources -o name` lists its resource.
  const crds = (await kubectl('get', '-f', dir, '-o', 'name'))
    .split('\n')
    .filter((line) => line.startsWith('customresourcedefinition.'))
    .map((line) => line.slice(line.indexOf('/') + 1));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const served = new Set((await kubectl('api-resources', '-o', 'name')).split('\n'));
    const missing = crds.filter((name) => !served.has(name));
    if (missing.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`not in API discovery after 30 s: ${missing.join(', ')}`);
    await sleep(250);
  }
}

// --- certificates and kubeconfigs -------------------------------------------------------------

const clientCerts: Record<Identity | 'controller-manager', { cn: string; o: string[] }> = {
  admin: { cn: identities.admin.user, o: identities.admin.groups },
  operator: { cn: identities.operator.user, o: identities.operator.groups },
  gateway: { cn: identities.gateway.user, o: identities.gateway.groups },
  // Every controller acts as this user; its bootstrap role is sized for
  // --use-service-account-credentials (a role per controller), too narrow for the garbage
  // collector, which deletes any kind. Masters spares us that set-up.
  'controller-manager': { cn: 'system:kube-controller-manager', o: ['system:masters'] },
};

async function makeCertificates(dir: string): Promise<void> {
  // Arguments are split on spaces: file names are relative to `dir` and subjects hold no spaces.
  const openssl = (args: string) => run('openssl', args.split(' '), { cwd: dir });
  // P-256 keys: generated instantly, unlike RSA, and accepted everywhere Kubernetes looks.
  const ec = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
  await openssl(
    `req -x509 ${ec} -keyout ca.key -out ca.crt -days 3650 -subj /CN=apiway-test-ca ` +
      '-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign',
  );
  await openssl('genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sa.key');
  // --service-account-key-file reads public keys only, not a PKCS#8 private key.
  await openssl('pkey -in sa.key -pubout -out sa.pub');

  // A CSR signed with an explicit extension file, so no openssl.cnf defaults (CA:TRUE) leak in.
  const issue = async (name: string, subject: string, extensions: string[]) => {
    await writeFile(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
    await openssl(`req -new ${ec} -keyout ${name}.key -out ${name}.csr -subj ${subject}`);
    await openssl(
      `x509 -req -in ${name}.csr -CA ca.crt -CAkey ca.key -days 3650 -out ${name}.crt ` +
        `-set_serial 0x${randomBytes(8).toString('hex')} -extfile ${name}.ext`,
    );
    await rm(join(dir, `${name}.csr`));
    await rm(join(dir, `${name}.ext`));
  };
  const leaf = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'];
  await issue('apiserver', '/CN=kube-apiserver', [
    ...leaf,
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc',
  ]);
  for (const [name, { cn, o }] of Object.entries(clientCerts)) {
    const subject = `${o.map((group) => `/O=${group}`).join('')}/CN=${cn}`;
    await issue(name, subject, [...leaf, 'extendedKeyUsage=clientAuth']);
  }
}

function clientCert(dir: string, name: string) {
  return {
    ca: readFileSync(join(dir, 'ca.crt')),
    cert: readFileSync(join(dir, `${name}.crt`)),
    key: readFileSync(join(dir, `${name}.key`)),
  };
}

/** Self-contained kubeconfigs (certificates inline) so they keep working when copied. */
async function writeKubeconfigs(dir: string, server: string): Promise<void> {
  const b64 = (file: string) => readFileSync(join(dir, file)).toString('base64');
  for (const name of Object.keys(clientCerts)) {
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'apiway', cluster: { server, 'certificate-authority-data': b64('ca.crt') } },
      ],
      users: [
        {
          name,
          user: {
            'client-certificate-data': b64(`${name}.crt`),
            'client-key-data': b64(`${name}.key`),
          },
        },
      ],
      contexts: [
        {
          name: `${name}@apiway`,
          context: { cluster: 'apiway', user: name, namespace: 'default' },
        },
      ],
      'current-context': `${name}@apiway`,
    };
    // JSON is YAML, so kubectl and client libraries read it as a kubeconfig.
    await writeFile(
      kubeconfigFile(dir, name as Identity | 'controller-manager'),
      JSON.stringify(config, null, 2),
      { mode: 0o600 },
    );
  }
}

// --- small helpers ----------------------------------------------------------------------------

function httpsGet(url: string, tls: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { ...tls, agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0)).on('timeout', () => req.destroy());
    req.end();
  });
}

/** Polls `check` until it holds; fails early, with the log's tail, if a process exits. */
async function waitFor(
  what: string,
  processes: Launched[],
  deadline: number,
  dir: string,
  check: () => Promise<boolean>,
): Promise<void> {
  for (;;) {
    const dead = processes.find(
      ({ child }) => child.exitCode !== null || child.signalCode !== null,
    );
    if (dead) {
      const how = dead.child.exitCode ?? dead.child.signalCode;
      throw new Error(
        `${dead.name} exited (${how}) while waiting for ${what}\n${logTail(dir, dead.name)}`,
      );
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}\n${logTail(dir, what)}`);
    await sleep(200);
  }
}

function logTail(dir: string, name: string): string {
  try {
    return `--- last lines of ${join(dir, `${name}.log`)} ---\n${readFileSync(
      join(dir, `${name}.log`),
      'utf8',
    )
      .split('\n')
      .slice(-30)
      .join('\n')}`;
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
