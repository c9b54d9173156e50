// Package tfread reads TensorBoard event files for tests. It is written
// apart from package tfevents and shares no code with it (framing, masks
// and proto decoding are its own), so that a test of the writer against it
// checks the format rather than the writer against itself. It decodes the
// parts of an Event that tgan writes: wall time, step, file_version,
// SessionLog status, and summary values with simple_value or an image.
package tfread

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Event is a decoded tensorflow.Event.
type Event struct {
	WallTime    float64
	Step        int64
	FileVersion string
	SessionLog  int // SessionLog.status (1 START); 0 when absent
	Values      []Value
	File        string // base name of the file it came from
}

// Value is a decoded Summary.Value: a scalar or an image.
type Value struct {
	Tag    string
	Simple *float32
	Image  *Image
}

// Image is a decoded Summary.Image.
type Image struct {
	Height, Width, Colorspace int
	Encoded                   []byte
}

// ErrTorn means the file ends inside a record: a write cut short.
var ErrTorn = errors.New("file ends inside a record")

// ErrChecksum means a record's length or data checksum does not match.
var ErrChecksum = errors.New("record checksum mismatch")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// mask is TFRecord's masking of a CRC32C: files store mask(crc), so a
// reader masks the CRC it computes and compares.
func mask(crc uint32) uint32 {
	rotated := (crc >> 15) | (crc << 17)
	return rotated + 0xa282ead8
}

// ReadRecords reads the records of r and calls fn with each one's data. It
// returns nil at a clean end, ErrTorn when r ends inside a record (the
// records before it were all delivered), ErrChecksum at a bad record.
func ReadRecords(r io.Reader, fn func([]byte) error) error {
	br := bufio.NewReader(r)
	for {
		var head [12]byte
		n, err := io.ReadFull(br, head[:])
		if err == io.EOF && n == 0 {
			return nil
		}
		if err != nil {
			return tornOr(err)
		}
		if mask(crc32.Checksum(head[:8], crcTable)) != binary.LittleEndian.Uint32(head[8:]) {
			return fmt.Errorf("%w (length)", ErrChecksum)
		}
		size := binary.LittleEndian.Uint64(head[:8])
		if size > 1<<31 {
			return fmt.Errorf("%w: record of %d bytes", ErrChecksum, size)
		}
		data := make([]byte, size+4)
		if _, err := io.ReadFull(br, data); err != nil {
			return tornOr(err)
		}
		body, stored := data[:size], binary.LittleEndian.Uint32(data[size:])
		if mask(crc32.Checksum(body, crcTable)) != stored {
			return fmt.Errorf("%w (data)", ErrChecksum)
		}
		if err := fn(body); err != nil {
			return err
		}
	}
}

func tornOr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrTorn
	}
	return err
}

// ReadFile decodes every complete record of an events file. tail is the
// error that ended the reading (nil, ErrTorn or ErrChecksum); a bad proto
// is a hard error.
func ReadFile(path string) (events []Event, tail error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	base := filepath.Base(path)
	var perr error
	tail = ReadRecords(f, func(b []byte) error {
		e, err := DecodeEvent(b)
		if err != nil {
			perr = fmt.Errorf("%s: record %d: %w", base, len(events), err)
			return perr
		}
		e.File = base
		events = append(events, e)
		return nil
	})
	if perr != nil {
		return events, nil, perr
	}
	if tail != nil && !errors.Is(tail, ErrTorn) && !errors.Is(tail, ErrChecksum) {
		return events, nil, tail
	}
	return events, tail, nil
}

// ReadDir reads every events file of dir in name order (as TensorBoard
// does) and returns their events and the files whose reading ended early.
func ReadDir(dir string) (events []Event, torn map[string]error, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "events.out.tfevents.") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	torn = map[string]error{}
	for _, n := range names {
		ev, tail, err := ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, nil, err
		}
		if tail != nil {
			torn[n] = tail
		}
		events = append(events, ev...)
	}
	return events, torn, nil
}

// fields walks a message and calls fn with each field; fn returns how many
// bytes of b the value took (protowire.ConsumeFieldValue for the rest).
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, b []byte) (int, error)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		used, err := fn(num, typ, b)
		if err != nil {
			return err
		}
		if used == 0 {
			used = protowire.ConsumeFieldValue(num, typ, b)
		}
		if used < 0 {
			return protowire.ParseError(used)
		}
		b = b[used:]
	}
	return nil
}

// DecodeEvent decodes one Event message.
func DecodeEvent(b []byte) (Event, error) {
	var e Event
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			e.WallTime = math.Float64frombits(v)
			return n, nil
		case num == 2 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			e.Step = int64(v)
			return n, nil
		case num == 3 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			e.FileVersion = string(v)
			return n, nil
		case num == 5 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return n, nil
			}
			vals, err := decodeSummary(v)
			e.Values = vals
			return n, err
		case num == 7 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return n, nil
			}
			return n, fields(v, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
				if num == 1 && typ == protowire.VarintType {
					s, n := protowire.ConsumeVarint(b)
					e.SessionLog = int(s)
					return n, nil
				}
				return 0, nil
			})
		}
		return 0, nil
	})
	return e, err
}

func decodeSummary(b []byte) ([]Value, error) {
	var vals []Value
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		if num != 1 || typ != protowire.BytesType {
			return 0, nil
		}
		m, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return n, nil
		}
		v, err := decodeValue(m)
		vals = append(vals, v)
		return n, err
	})
	return vals, err
}

func decodeValue(b []byte) (Value, error) {
	var v Value
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		switch {
		case num == 1 && typ == protowire.BytesType:
			s, n := protowire.ConsumeBytes(b)
			v.Tag = string(s)
			return n, nil
		case num == 2 && typ == protowire.Fixed32Type:
			x, n := protowire.ConsumeFixed32(b)
			f := math.Float32frombits(x)
			v.Simple = &f
			return n, nil
		case num == 4 && typ == protowire.BytesType:
			m, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return n, nil
			}
			img, err := decodeImage(m)
			v.Image = &img
			return n, err
		}
		return 0, nil
	})
	return v, err
}

func decodeImage(b []byte) (Image, error) {
	var img Image
	err := fields(b, func(num protowire.Number, typ protowire.Type, b []byte) (int, error) {
		if typ == protowire.VarintType {
			x, n := protowire.ConsumeVarint(b)
			switch num {
			case 1:
				img.Height = int(x)
			case 2:
				img.Width = int(x)
			case 3:
				img.Colorspace = int(x)
			}
			return n, nil
		}
		if num == 4 && typ == protowire.BytesType {
			p, n := protowire.ConsumeBytes(b)
			img.Encoded = append([]byte(nil), p...)
			return n, nil
		}
		return 0, nil
	})
	return img, err
}
