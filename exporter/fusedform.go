package exporter

import (
	"google.golang.org/protobuf/proto"

	"github.com/tgan-dev/tgan/onnx"
	"github.com/tgan-dev/tgan/onnx/fused"
)

// marshal encodes m deterministically; a non-empty form.Target encodes its
// fused form for that ONNX Runtime execution provider (see package fused).
func marshal(m *onnx.Model, form fused.Options) ([]byte, error) {
	if form.Target == "" {
		return m.Marshal()
	}
	mp, err := m.Proto()
	if err != nil {
		return nil, err
	}
	if _, err := fused.Rewrite(mp, form); err != nil {
		return nil, errorf("fused form: %w", err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		return nil, errorf("marshal: %w", err)
	}
	return b, nil
}
