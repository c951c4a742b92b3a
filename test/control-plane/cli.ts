// `npm run cluster:up` / `npm run cluster:down`: a control plane for a person, in the
// background, with its kubeconfigs in .apiway/cluster/ (ignored by git).
import { rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  installCrds,
  runningControlPlane,
  startControlPlane,
  stopControlPlane,
} from './control-plane.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = join(root, '.apiway', 'cluster');
const log = (line: string) => console.error(`[cluster] ${line}`);

async function up(): Promise<void> {
  let cluster = await runningControlPlane(dir);
  if (cluster) {
    log(`already running at ${cluster.server}`);
  } else {
    await stopControlPlane(dir); // leftovers of a crashed or half-started one
    await rm(dir, { recursive: true, force: true });
    cluster = await startControlPlane({ dir, detached: true, log });
  }
  // On every `up`, so a person fixing a CRD re-runs it. A rejected CRD leaves the cluster up.
  try {
    await installCrds(cluster.kubeconfigPath('admin'), join(root, 'crds'));
  } catch (err) {
    log(`the API server rejected crds/: ${(err as Error).message}`);
    process.exitCode = 1;
  }
  const kubeconfig = relative(process.cwd(), cluster.kubeconfigPath('admin'));
  console.log(`export KUBECONFIG=${kubeconfig}   # or:
kubectl --kubeconfig ${kubeconfig} get namespaces
# non-admin identities (RBAC applies): ${relative(process.cwd(), cluster.kubeconfigPath('operator'))}, ${relative(process.cwd(), cluster.kubeconfigPath('gateway'))}
# stop it with: npm run cluster:down`);
}

async function down(): Promise<void> {
  await stopControlPlane(dir);
  await rm(dir, { recursive: true, force: true });
  log('stopped; state removed');
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  console.error('usage: node test/control-plane/cli.ts up|down');
  process.exitCode = 2;
}
