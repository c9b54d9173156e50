#!/usr/bin/env bash
# setup.sh: install what tgan needs on a fresh Debian 12 machine.
#
#   scripts/setup.sh            apt packages + ONNX Runtime CPU library (.ort/lib/)
#   scripts/setup.sh --cuda     also the version-matched CUDA set (.ort/cuda/)
#   scripts/setup.sh --no-apt   skip the apt step
#   scripts/setup.sh --prefix DIR   also build tgan and install it with the
#                               library: DIR/bin/tgan, DIR/lib/libonnxruntime.so.1
#                               (with --cuda: the CUDA set in DIR/lib)
#
# Idempotent: apt is skipped when every package is installed (dpkg -s), and a
# library is downloaded only when it is missing or its sha256 does not match.
# ONNX Runtime comes from npm tarballs fetched with `npm pack` (no install
# script runs); each extracted file is checked against a pinned sha256.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORT_DIR="$ROOT/.ort"

APT_PACKAGES=(libopenblas-dev dataset-fashion-mnist gcc)

# CPU library: onnxruntime-node@1.30.0 (ORT 1.30.0).
CPU_NPM="onnxruntime-node@1.30.0"
CPU_SHA_X64="ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"
CPU_SHA_ARM64="1f549d46250b005580b597f4164984aaf75b3bcb9f3aeb07c7f8a8fe60b23c76"

# CUDA set (x64 only): core from onnxruntime-node@1.29.0, providers built for
# CUDA 13 from com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9.
CUDA_CORE_NPM="onnxruntime-node@1.29.0"
CUDA_CORE_PATH="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
CUDA_CORE_SHA="89688f5cf51c7e31befbb7b9101bc027799009b18d1baa9a5b1146a72e69538d"
CUDA_PROV_NPM="com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9"
CUDA_PROV_DIR="package/Plugins/Linux/x64"
CUDA_SHARED_SHA="c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772"
CUDA_PROV_SHA="56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037"

WANT_CUDA=0
WANT_APT=1
PREFIX=""
while [ $# -gt 0 ]; do
	arg="$1"
	shift
	case "$arg" in
	--cuda) WANT_CUDA=1 ;;
	--no-apt) WANT_APT=0 ;;
	--prefix=*) PREFIX="${arg#--prefix=}" ;;
	--prefix)
		[ $# -gt 0 ] || { echo "setup.sh: --prefix needs a DIR" >&2; exit 2; }
		PREFIX="$1"
		shift
		;;
	-h | --help)
		sed -n '2,14p' "$0"
		exit 0
		;;
	*)
		echo "setup.sh: unknown option $arg (use --cuda, --no-apt, --prefix DIR)" >&2
		exit 2
		;;
	esac
done

log() { echo "setup: $*"; }
die() {
	echo "setup: error: $*" >&2
	exit 1
}

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# run_root runs a command as root (directly, or through sudo).
run_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root or sudo to run: $*"
	fi
}

install_apt() {
	local missing=() p
	local want=("${APT_PACKAGES[@]}")
	command -v npm >/dev/null || want+=(npm)
	for p in "${want[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		log "apt: already installed: ${want[*]}"
		return
	fi
	log "apt: installing ${missing[*]}"
	run_root apt-get update -q
	run_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# have_file DEST SHA: true when DEST exists with the pinned hash.
have_file() {
	[ -f "$1" ] && [ "$(sha_of "$1")" = "$2" ]
}

# npm_fetch SPEC: download the package tarball into $TMP once; prints its path.
npm_fetch() {
	local spec="$1" dir="$TMP/npm-${1//[@\/]/_}" tgz
	if [ ! -d "$dir" ]; then
		mkdir -p "$dir"
		log "npm pack $spec" >&2
		(cd "$dir" && npm pack --silent "$spec" >/dev/null) ||
			die "npm pack $spec failed (is the npm registry reachable?)"
	fi
	tgz="$(ls "$dir"/*.tgz)"
	echo "$tgz"
}

# install_file SPEC MEMBER DEST SHA: extract MEMBER of npm package SPEC to
# DEST after checking its sha256; skips the download when DEST is current.
install_file() {
	local spec="$1" member="$2" dest="$3" want="$4" tgz got part
	if have_file "$dest" "$want"; then
		log "ok: $dest (sha256 matches)"
		return
	fi
	tgz="$(npm_fetch "$spec")"
	part="$TMP/extract-$(basename "$dest")"
	mkdir -p "$part"
	tar -xzf "$tgz" -C "$part" "$member" ||
		die "$spec has no $member"
	got="$(sha_of "$part/$member")"
	if [ "$got" != "$want" ]; then
		die "sha256 mismatch for $member from $spec:
  want $want
  got  $got
refusing to install it; the npm package changed or the download is corrupt"
	fi
	mkdir -p "$(dirname "$dest")"
	cp "$part/$member" "$dest.tmp.$$"
	mv -f "$dest.tmp.$$" "$dest"
	log "installed $dest ($spec, sha256 $want)"
}

install_cpu() {
	local arch sha
	arch="$(uname -m)"
	case "$arch" in
	x86_64 | amd64) arch=x64 sha="$CPU_SHA_X64" ;;
	aarch64 | arm64) arch=arm64 sha="$CPU_SHA_ARM64" ;;
	*) die "no ONNX Runtime library for architecture $arch" ;;
	esac
	install_file "$CPU_NPM" "package/bin/napi-v6/linux/$arch/libonnxruntime.so.1" \
		"$ORT_DIR/lib/libonnxruntime.so.1" "$sha"
}

install_cuda() {
	case "$(uname -m)" in
	x86_64 | amd64) ;;
	*) die "--cuda: the CUDA provider set is only available for linux x86_64" ;;
	esac
	install_file "$CUDA_CORE_NPM" "$CUDA_CORE_PATH" \
		"$ORT_DIR/cuda/libonnxruntime.so.1" "$CUDA_CORE_SHA"
	install_file "$CUDA_PROV_NPM" "$CUDA_PROV_DIR/libonnxruntime_providers_shared.so" \
		"$ORT_DIR/cuda/libonnxruntime_providers_shared.so" "$CUDA_SHARED_SHA"
	install_file "$CUDA_PROV_NPM" "$CUDA_PROV_DIR/libonnxruntime_providers_cuda.so" \
		"$ORT_DIR/cuda/libonnxruntime_providers_cuda.so" "$CUDA_PROV_SHA"
	cat <<EOF
setup: CUDA set ready in $ORT_DIR/cuda (ORT 1.29.0 + CUDA 13 provider).
setup: the machine that runs --provider cuda still needs:
  - an NVIDIA driver recent enough for CUDA 13
  - the CUDA 13 runtime libraries on the loader path (LD_LIBRARY_PATH):
    libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10,
    libcufft.so.12, libcudnn.so.9
EOF
}

# install_prefix builds tgan into PREFIX/bin and puts the library set
# beside it in PREFIX/lib, where tgan looks first (next to the executable).
install_prefix() {
	command -v go >/dev/null || die "--prefix: go not found (Go 1.26 builds tgan)"
	local src="$ORT_DIR/lib" rev f
	[ "$WANT_CUDA" -eq 1 ] && src="$ORT_DIR/cuda"
	mkdir -p "$PREFIX/bin" "$PREFIX/lib" || die "--prefix: cannot create $PREFIX/bin and $PREFIX/lib"
	PREFIX="$(cd "$PREFIX" && pwd)"
	rev="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || true)"
	(cd "$ROOT" && go build -ldflags "-X main.commit=$rev" -o "$PREFIX/bin/tgan.tmp.$$" ./cmd/tgan) ||
		die "--prefix: go build failed"
	mv -f "$PREFIX/bin/tgan.tmp.$$" "$PREFIX/bin/tgan"
	for f in "$src"/*.so*; do
		cp "$f" "$PREFIX/lib/$(basename "$f").tmp.$$"
		mv -f "$PREFIX/lib/$(basename "$f").tmp.$$" "$PREFIX/lib/$(basename "$f")"
	done
	log "installed $PREFIX/bin/tgan and $PREFIX/lib/libonnxruntime.so.1 (from $src); put $PREFIX/bin on PATH"
	"$PREFIX/bin/tgan" version
}

start=$SECONDS
if [ "$WANT_APT" -eq 1 ]; then
	install_apt
else
	log "apt: skipped (--no-apt)"
fi
command -v npm >/dev/null || die "npm not found (install Debian package npm, or drop --no-apt)"
install_cpu
if [ "$WANT_CUDA" -eq 1 ]; then
	install_cuda
fi
if [ -n "$PREFIX" ]; then
	install_prefix
fi
log "done in $((SECONDS - start))s; runtime finds $ORT_DIR/lib/libonnxruntime.so.1 by itself"
