package onnx

import "google.golang.org/protobuf/proto"

// Attr is a node attribute, built by the Attr* functions.
type Attr = *AttributeProto

// AttrInt is an INT attribute.
func AttrInt(name string, v int64) Attr {
	return &AttributeProto{Name: proto.String(name), Type: AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

// AttrFloat is a FLOAT attribute.
func AttrFloat(name string, v float32) Attr {
	return &AttributeProto{Name: proto.String(name), Type: AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// AttrString is a STRING attribute.
func AttrString(name, v string) Attr {
	return &AttributeProto{Name: proto.String(name), Type: AttributeProto_STRING.Enum(), S: []byte(v)}
}

// AttrInts is an INTS attribute.
func AttrInts(name string, v ...int64) Attr {
	return &AttributeProto{Name: proto.String(name), Type: AttributeProto_INTS.Enum(), Ints: v}
}

// AttrFloats is a FLOATS attribute.
func AttrFloats(name string, v ...float32) Attr {
	return &AttributeProto{Name: proto.String(name), Type: AttributeProto_FLOATS.Enum(), Floats: v}
}

// AttrTensor is a TENSOR attribute (for example the value of a Constant node).
func AttrTensor(name string, t *TensorProto) Attr {
	return &AttributeProto{Name: proto.String(name), Type: AttributeProto_TENSOR.Enum(), T: t}
}
