package pth

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math"

	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
	"github.com/tgan-dev/tgan/model"
)

// archiveName is the folder every record of the zip lives in (torch.save
// of PyTorch 2.x uses the same; readers take whatever the first record has).
const archiveName = "archive"

// storageAlign is the alignment torch.save gives every record's data, so
// that torch.load(mmap=True) can map storages in place.
const storageAlign = 64

// zip local file header: fixed part 30 bytes, then name and extra field.
const localHeaderLen = 30

// writePTH writes v (see encodePickle) to path in PyTorch's zip format, atomically:
// a failure leaves no file (and an older file at path intact).
func writePTH(path string, v any) error {
	pkl, storages, err := encodePickle(v)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return writeArchive(w, pkl, storages) })
}

// writeArchive lays out the records as torch.save does: data.pkl,
// byteorder, data/<key> for every storage (little-endian, stored, not
// deflated) and version, each record's data aligned to 64 bytes by an
// "FB" padding extra field.
func writeArchive(w io.Writer, pkl []byte, storages []storage) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	zw := zip.NewWriter(bw)
	var offset int64
	add := func(name string, size int64, write func(io.Writer) error, crc uint32) error {
		name = archiveName + "/" + name
		fh := &zip.FileHeader{
			Name: name, Method: zip.Store, CRC32: crc,
			CompressedSize64: uint64(size), UncompressedSize64: uint64(size),
			Extra: alignPadding(offset + localHeaderLen + int64(len(name))),
		}
		rw, err := zw.CreateRaw(fh)
		if err != nil {
			return err
		}
		if err := write(rw); err != nil {
			return err
		}
		offset += localHeaderLen + int64(len(name)) + int64(len(fh.Extra)) + size
		return nil
	}
	addBytes := func(name string, b []byte) error {
		return add(name, int64(len(b)), func(w io.Writer) error { _, err := w.Write(b); return err }, crc32.ChecksumIEEE(b))
	}
	if err := addBytes("data.pkl", pkl); err != nil {
		return err
	}
	if err := addBytes("byteorder", []byte("little")); err != nil {
		return err
	}
	for _, s := range storages {
		size, crc := storageCRC(s.tensor)
		write := func(w io.Writer) error { return writeStorage(w, s.tensor) }
		if err := add("data/"+s.key, size, write, crc); err != nil {
			return err
		}
	}
	if err := addBytes("version", []byte("3\n")); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// alignPadding returns the extra field that moves data starting at
// dataStart (without extra field) to the next multiple of storageAlign.
func alignPadding(dataStart int64) []byte {
	pad := (storageAlign - (dataStart+4)%storageAlign) % storageAlign
	extra := make([]byte, 4+pad)
	binary.LittleEndian.PutUint16(extra[0:], 0x4246) // "FB", as PyTorch's writer
	binary.LittleEndian.PutUint16(extra[2:], uint16(pad))
	for i := 4; i < len(extra); i++ {
		extra[i] = 'Z'
	}
	return extra
}

// storageCRC returns the byte size and CRC-32 of t's little-endian data.
func storageCRC(t *model.Tensor) (int64, uint32) {
	h := crc32.NewIEEE()
	writeStorage(h, t) // a hash never fails
	return int64(4*len(t.F32) + 8*len(t.I64)), h.Sum32()
}

// writeStorage writes t's elements little-endian, in chunks.
func writeStorage(w io.Writer, t *model.Tensor) error {
	var buf [8 << 10]byte
	n := 0
	flush := func() error {
		_, err := w.Write(buf[:n])
		n = 0
		return err
	}
	for _, v := range t.F32 {
		if n+4 > len(buf) {
			if err := flush(); err != nil {
				return err
			}
		}
		binary.LittleEndian.PutUint32(buf[n:], math.Float32bits(v))
		n += 4
	}
	for _, v := range t.I64 {
		if n+8 > len(buf) {
			if err := flush(); err != nil {
				return err
			}
		}
		binary.LittleEndian.PutUint64(buf[n:], uint64(v))
		n += 8
	}
	return flush()
}
