#!/bin/sh
# gen.sh regenerates onnx.pb.go from onnx.proto (run by `go generate ./onnx/`).
#
# protoc comes from Debian's protobuf-compiler; protoc-gen-go is built from
# the google.golang.org/protobuf version pinned in go.mod, so the generated
# code always matches the runtime library. An optional argument names the
# output directory (default: this directory); onnx_test.go uses it to check
# that the committed file is up to date.
set -eu
cd "$(dirname "$0")"
out="${1:-.}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
protoc --plugin=protoc-gen-go="$tmp/protoc-gen-go" \
	--go_out="$out" --go_opt=paths=source_relative onnx.proto
