package pth

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/tgan-dev/tgan/model"
)

// The Python values the writer can pickle. Together with string, int,
// float64, bool, nil and *model.Tensor they cover a torch.save training
// checkpoint and stay inside what torch.load(weights_only=True) accepts.
type (
	// pyTuple is a Python tuple.
	pyTuple []any
	// pyList is a Python list.
	pyList []any
	// pyDict is a dict (or, with ordered set, a collections.OrderedDict)
	// whose items keep the order given.
	pyDict struct {
		ordered bool
		items   []pyItem
	}
	pyItem struct {
		key, value any
	}
)

// set appends one item.
func (d *pyDict) set(key, value any) { d.items = append(d.items, pyItem{key, value}) }

// Pickle opcodes of protocol 2 that the writer emits.
const (
	opProto      = 0x80
	opStop       = '.'
	opMark       = '('
	opNone       = 'N'
	opNewTrue    = 0x88
	opNewFalse   = 0x89
	opBinInt     = 'J'
	opBinInt1    = 'K'
	opBinInt2    = 'M'
	opLong1      = 0x8a
	opBinFloat   = 'G'
	opBinUnicode = 'X'
	opEmptyTuple = ')'
	opTuple      = 't'
	opTuple1     = 0x85
	opTuple2     = 0x86
	opTuple3     = 0x87
	opEmptyList  = ']'
	opAppends    = 'e'
	opEmptyDict  = '}'
	opSetItems   = 'u'
	opGlobal     = 'c'
	opReduce     = 'R'
	opBinPersID  = 'Q'
)

// storage is one tensor's data, written to <archive>/data/<key>.
type storage struct {
	key    string
	tensor *model.Tensor
}

// pickler encodes a value the way torch.save's pickler does (protocol 2,
// tensors as torch._utils._rebuild_tensor_v2 calls whose storages are
// persistent ids) and collects the storages to write beside it.
type pickler struct {
	buf      bytes.Buffer
	storages []storage
}

// encodePickle returns the pickle of v and the storages it refers to, in key order.
func encodePickle(v any) ([]byte, []storage, error) {
	p := &pickler{}
	p.buf.Write([]byte{opProto, 2})
	if err := p.value(v); err != nil {
		return nil, nil, err
	}
	p.buf.WriteByte(opStop)
	return p.buf.Bytes(), p.storages, nil
}

func (p *pickler) value(v any) error {
	switch x := v.(type) {
	case nil:
		p.buf.WriteByte(opNone)
	case bool:
		if x {
			p.buf.WriteByte(opNewTrue)
		} else {
			p.buf.WriteByte(opNewFalse)
		}
	case int:
		p.int(int64(x))
	case int64:
		p.int(x)
	case float64:
		p.buf.WriteByte(opBinFloat)
		binary.Write(&p.buf, binary.BigEndian, math.Float64bits(x)) // bytes.Buffer: cannot fail
	case string:
		p.buf.WriteByte(opBinUnicode)
		binary.Write(&p.buf, binary.LittleEndian, uint32(len(x)))
		p.buf.WriteString(x)
	case pyTuple:
		return p.tuple(x)
	case pyList:
		p.buf.WriteByte(opEmptyList)
		if len(x) == 0 {
			return nil
		}
		p.buf.WriteByte(opMark)
		for _, e := range x {
			if err := p.value(e); err != nil {
				return err
			}
		}
		p.buf.WriteByte(opAppends)
	case *pyDict:
		return p.dict(x)
	case *model.Tensor:
		return p.tensor(x)
	default:
		return fmt.Errorf("pickle: unsupported value of type %T", v)
	}
	return nil
}

// int writes the smallest integer opcode that holds x.
func (p *pickler) int(x int64) {
	switch {
	case x >= 0 && x < 1<<8:
		p.buf.Write([]byte{opBinInt1, byte(x)})
	case x >= 0 && x < 1<<16:
		p.buf.WriteByte(opBinInt2)
		binary.Write(&p.buf, binary.LittleEndian, uint16(x))
	case x >= math.MinInt32 && x <= math.MaxInt32:
		p.buf.WriteByte(opBinInt)
		binary.Write(&p.buf, binary.LittleEndian, int32(x))
	default: // LONG1: 8 little-endian two's-complement bytes
		p.buf.Write([]byte{opLong1, 8})
		binary.Write(&p.buf, binary.LittleEndian, x)
	}
}

func (p *pickler) tuple(t pyTuple) error {
	if len(t) == 0 {
		p.buf.WriteByte(opEmptyTuple)
		return nil
	}
	if len(t) > 3 {
		p.buf.WriteByte(opMark)
	}
	for _, e := range t {
		if err := p.value(e); err != nil {
			return err
		}
	}
	switch len(t) {
	case 1:
		p.buf.WriteByte(opTuple1)
	case 2:
		p.buf.WriteByte(opTuple2)
	case 3:
		p.buf.WriteByte(opTuple3)
	default:
		p.buf.WriteByte(opTuple)
	}
	return nil
}

// global pushes module.name (GLOBAL opcode).
func (p *pickler) global(module, name string) {
	p.buf.WriteByte(opGlobal)
	p.buf.WriteString(module + "\n" + name + "\n")
}

// dict writes a dict, or an OrderedDict as torch does: OrderedDict() by
// REDUCE, then the items with SETITEMS.
func (p *pickler) dict(d *pyDict) error {
	if d.ordered {
		p.global("collections", "OrderedDict")
		p.buf.WriteByte(opEmptyTuple)
		p.buf.WriteByte(opReduce)
	} else {
		p.buf.WriteByte(opEmptyDict)
	}
	if len(d.items) == 0 {
		return nil
	}
	p.buf.WriteByte(opMark)
	for _, it := range d.items {
		if err := p.value(it.key); err != nil {
			return err
		}
		if err := p.value(it.value); err != nil {
			return err
		}
	}
	p.buf.WriteByte(opSetItems)
	return nil
}

// tensor writes _rebuild_tensor_v2(storage, 0, size, stride, False,
// OrderedDict()) with a new storage of its own, contiguous and row-major.
func (p *pickler) tensor(t *model.Tensor) error {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	class := "FloatStorage"
	switch {
	case t.F32 != nil && len(t.F32) == n && t.I64 == nil:
	case t.I64 != nil && len(t.I64) == n && t.F32 == nil:
		class = "LongStorage"
	default:
		return fmt.Errorf("pickle: tensor of shape %v holds %d float32 and %d int64 values", t.Shape, len(t.F32), len(t.I64))
	}
	key := strconv.Itoa(len(p.storages))
	p.storages = append(p.storages, storage{key: key, tensor: t})
	size, stride := make(pyTuple, len(t.Shape)), make(pyTuple, len(t.Shape))
	s := 1
	for i := len(t.Shape) - 1; i >= 0; i-- {
		size[i], stride[i] = t.Shape[i], s
		s *= t.Shape[i]
	}
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.buf.WriteByte(opMark)
	// The persistent id: ('storage', torch.<Class>, key, 'cpu', numel).
	p.buf.WriteByte(opMark)
	p.value("storage")
	p.global("torch", class)
	p.value(key)
	p.value("cpu")
	p.int(int64(n))
	p.buf.WriteByte(opTuple)
	p.buf.WriteByte(opBinPersID)
	p.int(0) // storage offset
	p.tuple(size)
	p.tuple(stride)
	p.buf.WriteByte(opNewFalse) // requires_grad
	p.global("collections", "OrderedDict")
	p.buf.WriteByte(opEmptyTuple)
	p.buf.WriteByte(opReduce) // backward hooks: OrderedDict()
	p.buf.WriteByte(opTuple)
	p.buf.WriteByte(opReduce)
	return nil
}
