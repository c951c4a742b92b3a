// The end-to-end scenarios of test/scenarios/ against the chart installed in a kind cluster:
// the in-cluster operator and gateways (the image built from the Dockerfile), reached through
// the gateway Service's node port. Run by test/kind/run.sh (`npm run e2e:kind`), which creates
// the cluster and sets the variables below.
import { describeGatewayScenarios } from '../scenarios/gateway-scenarios.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run this file through \`npm run e2e:kind\` (test/kind/run.sh)`,
    );
  }
  return value;
}

describeGatewayScenarios('the chart in a kind cluster', () => ({
  kubeconfig: required('APIWAY_KIND_KUBECONFIG'),
  namespace: required('APIWAY_KIND_NAMESPACE'),
  environment: 'alpha',
  gatewayUrl: required('APIWAY_KIND_GATEWAY_URL'),
  publicUrl: required('APIWAY_KIND_PUBLIC_URL'),
  backendUrl: required('APIWAY_KIND_BACKEND_URL'),
  replicas: Number(required('APIWAY_KIND_REPLICAS')),
}));
