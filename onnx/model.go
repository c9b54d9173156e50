package onnx

import (
	"fmt"
	"os"
	"sort"

	"google.golang.org/protobuf/proto"
)

// Defaults of Model's zero fields.
const (
	// DefaultOpset is the ai.onnx operator set tgan writes: 17 is the first
	// with LayerNormalization.
	DefaultOpset = 17
	// DefaultIRVersion is the IR version that goes with opset 17.
	DefaultIRVersion = 8
	// DefaultProducer is the producer_name of tgan's files.
	DefaultProducer = "tgan"
)

// Model is a graph plus the file-level fields of an ONNX model.
type Model struct {
	Graph *Graph
	// Opset is the ai.onnx operator set version. Default DefaultOpset.
	Opset int64
	// IRVersion is the ONNX IR version. Default DefaultIRVersion.
	IRVersion int64
	// ProducerName defaults to DefaultProducer.
	ProducerName    string
	ProducerVersion string
	DocString       string
	// Metadata becomes metadata_props, written in key order.
	Metadata map[string]string
}

// Proto assembles the ModelProto. The graph is shared, not copied.
func (m *Model) Proto() (*ModelProto, error) {
	if m.Graph == nil {
		return nil, fmt.Errorf("onnx: model has no graph")
	}
	gp, err := m.Graph.Proto()
	if err != nil {
		return nil, err
	}
	mp := &ModelProto{
		IrVersion:    proto.Int64(orDefault(m.IRVersion, DefaultIRVersion)),
		OpsetImport:  []*OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(orDefault(m.Opset, DefaultOpset))}},
		ProducerName: proto.String(m.ProducerName),
		Graph:        gp,
	}
	if m.ProducerName == "" {
		mp.ProducerName = proto.String(DefaultProducer)
	}
	if m.ProducerVersion != "" {
		mp.ProducerVersion = proto.String(m.ProducerVersion)
	}
	if m.DocString != "" {
		mp.DocString = proto.String(m.DocString)
	}
	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		mp.MetadataProps = append(mp.MetadataProps,
			&StringStringEntryProto{Key: proto.String(k), Value: proto.String(m.Metadata[k])})
	}
	return mp, nil
}

func orDefault(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

// Marshal encodes the model deterministically: the same model gives the same
// bytes.
func (m *Model) Marshal() ([]byte, error) {
	mp, err := m.Proto()
	if err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		return nil, fmt.Errorf("onnx: marshal: %w", err)
	}
	return b, nil
}

// ReadFile decodes an .onnx file.
func ReadFile(path string) (*ModelProto, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	mp := &ModelProto{}
	if err := proto.Unmarshal(b, mp); err != nil {
		return nil, fmt.Errorf("onnx: decode %s: %w", path, err)
	}
	return mp, nil
}

// Metadata returns a model's metadata_props as a map.
func Metadata(mp *ModelProto) map[string]string {
	md := make(map[string]string, len(mp.MetadataProps))
	for _, e := range mp.MetadataProps {
		md[e.GetKey()] = e.GetValue()
	}
	return md
}
