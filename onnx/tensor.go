package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"
)

// Batch, given as a dimension to Graph.Input or Graph.Output, stands for the
// symbolic dimension named BatchDim (dim_param): the dynamic batch axis.
const Batch int64 = -1

// BatchDim is the dim_param name of the dynamic batch axis.
const BatchDim = "batch"

// FloatTensor returns a FLOAT tensor with its data in raw_data
// (little-endian). The data length must match the shape.
func FloatTensor(name string, shape []int, data []float32) (*TensorProto, error) {
	if err := checkLen(name, shape, len(data)); err != nil {
		return nil, err
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return newTensor(name, TensorProto_FLOAT, shape, raw), nil
}

// Int64Tensor returns an INT64 tensor with its data in raw_data.
func Int64Tensor(name string, shape []int, data []int64) (*TensorProto, error) {
	if err := checkLen(name, shape, len(data)); err != nil {
		return nil, err
	}
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return newTensor(name, TensorProto_INT64, shape, raw), nil
}

func newTensor(name string, dt TensorProto_DataType, shape []int, raw []byte) *TensorProto {
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	return &TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw}
}

func checkLen(name string, shape []int, n int) error {
	want := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("onnx: tensor %q: negative dimension in %v", name, shape)
		}
		want *= d
	}
	if want != n {
		return fmt.Errorf("onnx: tensor %q: shape %v needs %d values, got %d", name, shape, want, n)
	}
	return nil
}

// FloatData decodes a FLOAT tensor's values (raw_data or float_data).
func FloatData(t *TensorProto) ([]float32, error) {
	if TensorProto_DataType(t.GetDataType()) != TensorProto_FLOAT {
		return nil, fmt.Errorf("onnx: tensor %q is not FLOAT", t.GetName())
	}
	if t.RawData == nil {
		return t.FloatData, nil
	}
	if len(t.RawData)%4 != 0 {
		return nil, fmt.Errorf("onnx: tensor %q: raw_data length %d", t.GetName(), len(t.RawData))
	}
	out := make([]float32, len(t.RawData)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
	}
	return out, nil
}

// tensorValue describes a float32 tensor value for graph inputs and outputs;
// Batch dimensions become dim_param BatchDim.
func tensorValue(name string, dims []int64) *ValueInfoProto {
	shape := &TensorShapeProto{}
	for _, d := range dims {
		dim := &TensorShapeProto_Dimension{}
		if d == Batch {
			dim.Value = &TensorShapeProto_Dimension_DimParam{DimParam: BatchDim}
		} else {
			dim.Value = &TensorShapeProto_Dimension_DimValue{DimValue: d}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &ValueInfoProto{
		Name: proto.String(name),
		Type: &TypeProto{Value: &TypeProto_TensorType{TensorType: &TypeProto_Tensor{
			ElemType: proto.Int32(int32(TensorProto_FLOAT)), Shape: shape,
		}}},
	}
}
