#!/usr/bin/env bash
# Builds the `helm` binary the chart tests use from the Go module proxy, into a per-version
# cache outside the repo, once per machine. Idempotent and safe to run concurrently (a lock
# serialises builders). Prints the binary's path on stdout; logs go to stderr.
#
# Env: HELM (an existing helm v3 binary: used as is, nothing is built), APIWAY_CACHE (default
# ~/.cache/apiway), GO (go binary).
#
# Unlike k8s.io/kubernetes (see test/control-plane/build.sh), helm's go.mod has no `replace`
# lines, so `go install helm.sh/helm/v3/cmd/helm@VERSION` builds it directly. v3.19 is the
# newest helm whose go.mod asks for no more than Go 1.24, the floor the test tier documents.
set -euo pipefail

HELM_VERSION=v3.19.5
# helm's Makefile stamps these; without them `helm version` says v3.19+unreleased and
# `helm template` assumes Kubernetes v1.20 for .Capabilities.KubeVersion. Its client-go is
# v0.34.x, which the Makefile turns into Kubernetes 1.34.
K8S_MAJOR=1
K8S_MINOR=34

CACHE="${APIWAY_CACHE:-$HOME/.cache/apiway}/helm/${HELM_VERSION}"

log() { printf '[helm build] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -n "${HELM:-}" ]]; then
	[[ -x "$HELM" ]] || die "HELM=$HELM is not an executable"
	got=$("$HELM" version --short 2>&1) || die "$HELM version failed: $got"
	[[ "$got" == v3.* ]] || die "HELM=$HELM is $got; the chart tests need helm v3"
	log "using HELM=$HELM ($got)"
	echo "$HELM"
	exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9 # another build may be running: wait for it, then reuse its binary

if [[ ! -x "$CACHE/helm" ]]; then
	GO="${GO:-$(command -v go || true)}"
	[[ -n "$GO" ]] || { [[ -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go; }
	[[ -n "$GO" ]] || die "Go >= 1.24 is required to build helm: install it (https://go.dev/dl) or set HELM to a helm v3 binary"
	log "building helm $HELM_VERSION with $("$GO" version) (a few minutes from a cold module cache)"
	start=$SECONDS
	pkg=helm.sh/helm/v3
	ldflags="-s -w -X $pkg/internal/version.version=$HELM_VERSION"
	ldflags+=" -X $pkg/internal/version.gitTreeState=clean"
	for p in pkg/chartutil pkg/lint/rules; do
		ldflags+=" -X $pkg/$p.k8sVersionMajor=$K8S_MAJOR -X $pkg/$p.k8sVersionMinor=$K8S_MINOR"
	done
	tmp=$(mktemp -d "$CACHE/.gobin.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# Outside any module, with our own settings: the caller's GOFLAGS/GOWORK must not leak in.
	(cd "$tmp" && GOBIN="$tmp" GOFLAGS="-buildvcs=false" GOWORK=off CGO_ENABLED=0 \
		"$GO" install -trimpath -ldflags "$ldflags" "$pkg/cmd/helm@$HELM_VERSION")
	mv "$tmp/helm" "$CACHE/helm" # atomic: a half-written binary is never picked up
	log "built helm in $((SECONDS - start))s"
fi

got=$("$CACHE/helm" version --short 2>&1)
[[ "$got" == "$HELM_VERSION"* ]] || die "$CACHE/helm version says '$got', expected $HELM_VERSION"
log "ok: $CACHE/helm ($got)"
echo "$CACHE/helm"
exit # bash reads scripts lazily: never run past here if this file changes while building
