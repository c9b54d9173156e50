package tfevents

import (
	"bytes"
	"image"
	"image/png"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// FileVersion is the file_version of the first event of every file.
const FileVersion = "brain.Event:2"

// Field numbers of tensorflow.Event, Summary, Summary.Value, Summary.Image
// and SessionLog.
const (
	eventWallTime    = 1 // double
	eventStep        = 2 // int64
	eventFileVersion = 3 // string
	eventSummary     = 5 // Summary
	eventSessionLog  = 7 // SessionLog

	summaryValue = 1 // repeated Value

	valueTag    = 1 // string
	valueSimple = 2 // float
	valueImage  = 4 // Image

	imageHeight     = 1 // int32
	imageWidth      = 2 // int32
	imageColorspace = 3 // int32: 3 RGB, 4 RGBA
	imageEncoded    = 4 // bytes

	sessionStatus = 1 // enum: START = 1
	sessionStart  = 1
)

// Scalar is one named number of a summary.
type Scalar struct {
	Tag   string
	Value float64 // stored as float32 (simple_value)
}

// Image is one named picture of a summary, stored as PNG.
type Image struct {
	Tag   string
	Image image.Image
}

// Event is one summary at a step: its scalars and images.
type Event struct {
	WallTime float64 // seconds since the Unix epoch
	Step     int64
	Scalars  []Scalar
	Images   []Image
}

// appendHeader starts an Event message: wall time and step.
func appendHeader(b []byte, wall float64, step int64) []byte {
	b = protowire.AppendTag(b, eventWallTime, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(wall))
	if step != 0 {
		b = protowire.AppendTag(b, eventStep, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(step))
	}
	return b
}

// fileVersionEvent is the first event of a file.
func fileVersionEvent(wall float64) []byte {
	b := appendHeader(nil, wall, 0)
	b = protowire.AppendTag(b, eventFileVersion, protowire.BytesType)
	return protowire.AppendString(b, FileVersion)
}

// startEvent is SessionLog START at step: TensorBoard's own loader then
// forgets events at step and after that it read before (the purge_step of
// PyTorch's SummaryWriter), for a live TensorBoard during a resume.
func startEvent(wall float64, step int64) []byte {
	b := appendHeader(nil, wall, step)
	var s []byte
	s = protowire.AppendTag(s, sessionStatus, protowire.VarintType)
	s = protowire.AppendVarint(s, sessionStart)
	b = protowire.AppendTag(b, eventSessionLog, protowire.BytesType)
	return protowire.AppendBytes(b, s)
}

// encode returns e as an Event message.
func (e Event) encode() ([]byte, error) {
	var s []byte
	for _, v := range e.Scalars {
		var m []byte
		m = protowire.AppendTag(m, valueTag, protowire.BytesType)
		m = protowire.AppendString(m, v.Tag)
		m = protowire.AppendTag(m, valueSimple, protowire.Fixed32Type)
		m = protowire.AppendFixed32(m, math.Float32bits(float32(v.Value)))
		s = appendMessage(s, summaryValue, m)
	}
	for _, v := range e.Images {
		img, err := encodeImage(v.Image)
		if err != nil {
			return nil, err
		}
		var m []byte
		m = protowire.AppendTag(m, valueTag, protowire.BytesType)
		m = protowire.AppendString(m, v.Tag)
		s = appendMessage(s, summaryValue, appendMessage(m, valueImage, img))
	}
	return appendMessage(appendHeader(nil, e.WallTime, e.Step), eventSummary, s), nil
}

// encodeImage is a Summary.Image with img as PNG.
func encodeImage(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	r := img.Bounds()
	colorspace := uint64(4)
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		colorspace = 3 // Go's encoder writes opaque images as RGB
	}
	var m []byte
	for _, f := range []struct {
		num protowire.Number
		v   uint64
	}{{imageHeight, uint64(r.Dy())}, {imageWidth, uint64(r.Dx())}, {imageColorspace, colorspace}} {
		m = protowire.AppendTag(m, f.num, protowire.VarintType)
		m = protowire.AppendVarint(m, f.v)
	}
	m = protowire.AppendTag(m, imageEncoded, protowire.BytesType)
	return protowire.AppendBytes(m, buf.Bytes()), nil
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

// eventInfo is what Prune needs of an encoded Event: its step and whether
// it carries a summary. ok is false for bytes that are not an Event.
func eventInfo(b []byte) (step int64, summary, ok bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, false, false
		}
		b = b[n:]
		if num == eventStep && typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, false, false
			}
			step = int64(v)
		}
		if num == eventSummary && typ == protowire.BytesType {
			summary = true
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, false, false
		}
		b = b[n:]
	}
	return step, summary, true
}
