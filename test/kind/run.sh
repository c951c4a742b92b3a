#!/usr/bin/env bash
# `npm run e2e:kind`: the end-to-end scenarios of test/scenarios/ against the real thing. Creates
# a kind cluster, builds the image from the Dockerfile and loads it, installs charts/apiway with
# test/kind/values.yaml, starts an echo backend in the cluster, and runs
# test/kind/gateway.kind-test.ts against the gateway Service (a node port mapped to the host).
#
# Needs Docker (with a running daemon), kind, kubectl, and Go for helm (or HELM). The machines
# of this project's CI have no Docker daemon: there the same scenarios run against a local
# kube-apiserver (test/chart/chart.int.test.ts, in `npm run test:integration`).
#
# Env: APIWAY_KIND_CLUSTER (default apiway-e2e), APIWAY_KIND_PORT (host port of the gateway,
# default 30080), APIWAY_KIND_KEEP=1 (keep the cluster afterwards; a kept cluster is reused).
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER=${APIWAY_KIND_CLUSTER:-apiway-e2e}
HOST_PORT=${APIWAY_KIND_PORT:-30080}
NODE_PORT=30080
IMAGE_REPOSITORY=apiway
IMAGE_TAG=e2e
RELEASE=apiway
SYSTEM_NAMESPACE=apiway-system
SCENARIO_NAMESPACE=apiway-e2e
REPLICAS=2 # gateway.replicas in test/kind/values.yaml

log() { printf '[kind e2e] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

NO_DOCKER_HINT="The same scenarios run without Docker against a local kube-apiserver: npx vitest run --project integration test/chart/chart.int.test.ts"
command -v docker >/dev/null || die "docker is not installed. npm run e2e:kind needs Docker with a running daemon, and kind (https://kind.sigs.k8s.io). $NO_DOCKER_HINT"
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable (\`docker info\` fails): start it, or check DOCKER_HOST. $NO_DOCKER_HINT"
command -v kind >/dev/null || die "kind is not installed (https://kind.sigs.k8s.io/docs/user/quick-start/#installation). $NO_DOCKER_HINT"
command -v kubectl >/dev/null || die "kubectl is not installed"
HELM=$(bash test/chart/build-helm.sh)

WORK=$(mktemp -d)
export KUBECONFIG="$WORK/kubeconfig"
created=0
cleanup() {
	local status=$?
	if [[ $status -ne 0 && -s "$KUBECONFIG" ]]; then
		log "failed; what the pods said:"
		kubectl -n "$SYSTEM_NAMESPACE" get pods -o wide >&2 || true
		kubectl -n "$SYSTEM_NAMESPACE" logs -l "app.kubernetes.io/instance=$RELEASE" --all-containers --prefix --tail=80 >&2 || true
	fi
	if [[ $created -eq 1 && "${APIWAY_KIND_KEEP:-0}" != 1 ]]; then
		kind delete cluster --name "$CLUSTER" >&2 || true
	fi
	rm -rf "$WORK"
	exit $status
}
trap cleanup EXIT

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
	log "reusing the kind cluster $CLUSTER"
else
	log "creating the kind cluster $CLUSTER (gateway node port $NODE_PORT on 127.0.0.1:$HOST_PORT)"
	created=1
	kind create cluster --name "$CLUSTER" --wait 120s --config - <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    extraPortMappings:
      - containerPort: $NODE_PORT
        hostPort: $HOST_PORT
        listenAddress: 127.0.0.1
EOF
fi
kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG"

log "building the image $IMAGE_REPOSITORY:$IMAGE_TAG"
docker build -t "$IMAGE_REPOSITORY:$IMAGE_TAG" .
kind load docker-image "$IMAGE_REPOSITORY:$IMAGE_TAG" --name "$CLUSTER"

PUBLIC_URL="http://127.0.0.1:$HOST_PORT"
cat >"$WORK/values.yaml" <<EOF
image:
  tag: $IMAGE_TAG
gateway:
  environments:
    - name: alpha
      publicUrl: $PUBLIC_URL
      service: {type: NodePort, port: 80, nodePort: $NODE_PORT}
EOF
log "installing charts/apiway (CRDs, operator, gateway alpha, Redis)"
"$HELM" upgrade --install "$RELEASE" charts/apiway --namespace "$SYSTEM_NAMESPACE" --create-namespace \
	--values test/kind/values.yaml --values "$WORK/values.yaml" --wait --timeout 5m

# A fresh namespace for the scenarios' objects (a reused cluster may hold an earlier run's).
kubectl delete namespace "$SCENARIO_NAMESPACE" --ignore-not-found --wait
kubectl create namespace "$SCENARIO_NAMESPACE"
sed "s|image: IMAGE|image: $IMAGE_REPOSITORY:$IMAGE_TAG|" test/kind/echo-backend.yaml |
	kubectl -n "$SCENARIO_NAMESPACE" apply -f -
kubectl -n "$SCENARIO_NAMESPACE" rollout status deployment/echo --timeout 120s

log "running the scenarios against $PUBLIC_URL"
APIWAY_KIND_KUBECONFIG="$KUBECONFIG" \
	APIWAY_KIND_NAMESPACE="$SCENARIO_NAMESPACE" \
	APIWAY_KIND_GATEWAY_URL="$PUBLIC_URL" \
	APIWAY_KIND_PUBLIC_URL="$PUBLIC_URL" \
	APIWAY_KIND_BACKEND_URL="http://echo.$SCENARIO_NAMESPACE.svc:8080" \
	APIWAY_KIND_REPLICAS="$REPLICAS" \
	npx vitest run --config test/kind/vitest.config.ts
