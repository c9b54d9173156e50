// Package tfevents writes TensorBoard event files (events.out.tfevents.*):
// TFRecord framing around Event protocol buffers that carry scalars and PNG
// images, as TensorFlow's and PyTorch's summary writers do. tgan train keeps
// one history per run folder beside metrics.jsonl; Prune cuts it back to a
// checkpoint's step on resume, as the trainer truncates metrics.jsonl.
//
// The protos are encoded by hand with protowire (field numbers from
// tensorflow/core/util/event.proto and core/framework/summary.proto), so no
// generated code or TensorFlow dependency is needed.
package tfevents

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// A record is: uint64 length (little endian), masked CRC32C of those 8
// bytes, the data, masked CRC32C of the data.
const (
	headerLen  = 8 + 4
	footerLen  = 4
	maskDelta  = 0xa282ead8
	maxRecord  = 1 << 30 // larger lengths are taken as corruption
	recordOver = headerLen + footerLen
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC is TFRecord's CRC32C, rotated and offset so that a CRC stored
// inside checksummed data does not checksum to a constant.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return (c>>15 | c<<17) + maskDelta
}

// appendRecord frames data as one record at the end of dst.
func appendRecord(dst, data []byte) []byte {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(data)))
	dst = append(dst, n[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, maskedCRC(n[:]))
	dst = append(dst, data...)
	return binary.LittleEndian.AppendUint32(dst, maskedCRC(data))
}

// errBadRecord marks a record whose checksums do not match.
var errBadRecord = errors.New("record checksum mismatch")

// splitRecords returns the data of the complete, intact records at the
// start of b and the length of that prefix. It stops at the first record
// that is cut short (a write a crash interrupted) or whose checksums fail;
// err tells which (nil: b ended cleanly after the last record).
func splitRecords(b []byte) (records [][]byte, good int, err error) {
	for good < len(b) {
		rest := b[good:]
		if len(rest) < headerLen {
			return records, good, errTruncated
		}
		n := binary.LittleEndian.Uint64(rest[:8])
		if binary.LittleEndian.Uint32(rest[8:12]) != maskedCRC(rest[:8]) || n > maxRecord {
			return records, good, errBadRecord
		}
		if uint64(len(rest)) < recordOver+n {
			return records, good, errTruncated
		}
		data := rest[headerLen : headerLen+n]
		if binary.LittleEndian.Uint32(rest[headerLen+n:]) != maskedCRC(data) {
			return records, good, errBadRecord
		}
		records = append(records, data)
		good += recordOver + int(n)
	}
	return records, good, nil
}

// errTruncated marks a record cut short at the end of a file.
var errTruncated = errors.New("last record cut short")

// Frame returns data framed as one record (for tools and tests that check
// the framing against other implementations).
func Frame(data []byte) []byte { return appendRecord(nil, data) }
