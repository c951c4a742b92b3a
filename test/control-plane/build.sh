#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kube-controller-manager from the Go module proxy into a
# per-version cache outside the repo, once per machine. Idempotent and safe to run concurrently
# (a lock serialises builders). Prints `name=path` for each binary on stdout; logs go to
# stderr.
#
# Why from Go modules: there is no Docker (so no kind) and Debian's etcd is 3.4, below what
# Kubernetes 1.33 supports. Why wrapper modules: k8s.io/kubernetes and etcd's server module
# resolve their sibling modules with `replace` lines that only apply inside their own repos, so
# `go install pkg@version` refuses them; a wrapper restates those replaces at real versions.
#
# Env: APIWAY_CACHE (default ~/.cache/apiway), KUBEBUILDER_ASSETS (envtest binaries; any of the
# three found there is used instead of building it), GO (go binary).
set -euo pipefail

K8S_VERSION=v1.33.5
K8S_STAGING_VERSION=v0.33.5 # staging modules are tagged v0.<minor>.<patch>
ETCD_VERSION=v3.5.21

CACHE="${APIWAY_CACHE:-$HOME/.cache/apiway}/control-plane/${K8S_VERSION}-etcd${ETCD_VERSION#v}"
BIN="$CACHE/bin"
SRC="$CACHE/src"

log() { printf '[control-plane build] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Where each binary comes from: KUBEBUILDER_ASSETS first (envtest ships etcd and kube-apiserver
# but usually not kube-controller-manager), then our cache.
have() {
	[[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/$1" ]] || [[ -x "$BIN/$1" ]]
}

ensure_openssl() {
	command -v openssl >/dev/null && return
	log "openssl missing (needed to generate the control plane's certificates); installing it"
	command -v apt-get >/dev/null || die "install openssl"
	local sudo=""
	[[ $(id -u) -eq 0 ]] || sudo=sudo
	$sudo apt-get update -qq && $sudo apt-get install -y -qq openssl >/dev/null
}

find_go() {
	GO="${GO:-$(command -v go || true)}"
	[[ -n "$GO" ]] || { [[ -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go; }
	[[ -n "$GO" ]] || die "Go >= 1.24 is required to build the test control plane: install it (https://go.dev/dl) or set KUBEBUILDER_ASSETS to a dir holding etcd, kube-apiserver and kube-controller-manager ${K8S_VERSION}"
	# Builds must not depend on the caller's module settings; the wrapper pins its own go version.
	export GOFLAGS="-buildvcs=false -mod=mod" GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0
	unset GOOS GOARCH
}

# Prints `replace` lines that map every directory replace of the module at $1@$2 (siblings
# checked out in its own repo) to the version its go.mod requires, or to $3 where it requires
# the placeholder v0.0.0 (k8s.io/kubernetes requires its staging modules that way).
sibling_replaces() {
	local gomod
	gomod=$(cd "$SRC" && "$GO" mod download -json "$1@$2" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
	[[ -f "$gomod" ]] || die "could not fetch go.mod of $1@$2"
	awk -v placeholder_to="$3" '
		/^require \(/ { block = "require"; next }
		/^replace \(/ { block = "replace"; next }
		/^\)/ { block = ""; next }
		/^require [^(]/ { required[$2] = $3; next }
		/^replace [^(]/ { if ($4 ~ /^\./) local_dir[$2] = 1; next }
		block == "require" { required[$1] = $2 }
		block == "replace" && $3 ~ /^\./ { local_dir[$1] = 1 }
		END {
			# Replaces of modules nothing requires (etcd: ./FORBIDDEN_DEPENDENCY) are guards; drop them.
			for (p in local_dir) if (p in required) {
				v = required[p] == "v0.0.0" ? placeholder_to : required[p]
				print "replace " p " => " p " " v
			}
		}' "$gomod" | sort
}

# Writes a wrapper module in $SRC/$1 that requires $2@$3 with sibling replaces at $4.
write_wrapper() {
	local dir="$SRC/$1"
	mkdir -p "$dir"
	{
		echo "module apiway.test/control-plane/$1"
		echo
		# Same language version and GODEBUG defaults the upstream binaries are built with.
		echo "go 1.24.0"
		echo "godebug default=go1.24"
		echo
		echo "require $2 $3"
		echo
		sibling_replaces "$2" "$3" "$4"
	} >"$dir/go.mod.new"
	mv "$dir/go.mod.new" "$dir/go.mod"
	[[ $(grep -c '^replace' "$dir/go.mod") -gt 0 ]] || die "no replace lines derived for $2@$3"
}

# build <wrapper> <package> <output name> <ldflags>
build() {
	local dir="$SRC/$1" start=$SECONDS
	log "building $3 from $2 (a few minutes; kube-apiserver takes longest)"
	(cd "$dir" && "$GO" build -trimpath -ldflags "-s -w $4" -o "$BIN/.$3.tmp" "$2")
	mv "$BIN/.$3.tmp" "$BIN/$3" # atomic: a half-written binary is never picked up
	log "built $3 in $((SECONDS - start))s"
}

k8s_ldflags() {
	local minor=${K8S_VERSION#v1.}
	minor=${minor%%.*}
	local f="" pkg
	# Without these /version says v0.0.0-master, which some clients reject.
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		f+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		f+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	echo "$f"
}

verify() {
	local name=$1 want=$2 path=$BIN/$1
	[[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/$1" ]] && path=$KUBEBUILDER_ASSETS/$1
	local got
	got=$("$path" --version 2>&1) # no `| head -1`: etcd would die of SIGPIPE, failing pipefail
	got=${got%%$'\n'*}
	[[ "$got" == *"$want"* ]] || die "$path --version says '$got', expected $want"
	log "ok: $path ($got)"
	echo "$name=$path" # stdout is for callers (control-plane.ts): one name=path line per binary
}

main() {
	ensure_openssl
	mkdir -p "$BIN" "$SRC"
	exec 9>"$CACHE/.build.lock"
	flock 9 # another build (test run, cluster:up) may be running: wait for it, then reuse

	if have etcd && have kube-apiserver && have kube-controller-manager; then
		log "binaries present, nothing to build"
	else
		find_go
		log "go: $("$GO" version); cache: $CACHE"
		local total=$SECONDS
		if ! have etcd; then
			write_wrapper etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_VERSION"
			build etcd go.etcd.io/etcd/server/v3 etcd ""
		fi
		if ! have kube-apiserver || ! have kube-controller-manager; then
			write_wrapper kubernetes k8s.io/kubernetes "$K8S_VERSION" "$K8S_STAGING_VERSION"
			local ld
			ld=$(k8s_ldflags)
			have kube-apiserver || build kubernetes k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "$ld"
			have kube-controller-manager ||
				build kubernetes k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager "$ld"
		fi
		log "build finished in $((SECONDS - total))s"
	fi

	verify etcd "${ETCD_VERSION#v}"
	verify kube-apiserver "$K8S_VERSION"
	verify kube-controller-manager "$K8S_VERSION"
}

main "$@"
exit # bash reads scripts lazily: never run past here if this file changes while building
