package exporter

import (
	"google.golang.org/protobuf/proto"

	"github.com/tgan-dev/tgan/exporter/fused"
	"github.com/tgan-dev/tgan/onnx"
)

// marshal encodes m deterministically; a non-empty target encodes its
// fused form for that ONNX Runtime execution provider (see package fused).
func marshal(m *onnx.Model, target fused.Target) ([]byte, error) {
	if target == "" {
		return m.Marshal()
	}
	mp, err := m.Proto()
	if err != nil {
		return nil, err
	}
	if _, err := fused.Rewrite(mp, fused.Options{Target: target}); err != nil {
		return nil, errorf("fused form: %w", err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		return nil, errorf("marshal: %w", err)
	}
	return b, nil
}
