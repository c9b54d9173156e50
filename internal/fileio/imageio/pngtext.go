package imageio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
)

// EncodePNG writes img as PNG to w with text as tEXt chunks (keyword ->
// value, Latin-1 printable, keywords of 1-79 bytes), placed right after
// the header in keyword order, so tools like exiftool or Python's PIL
// (Image.info) show them. Without text it is png.Encode.
func EncodePNG(w io.Writer, img image.Image, text map[string]string) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	b := buf.Bytes()
	const headerEnd = 8 + 8 + 13 + 4 // signature, IHDR length+type, IHDR data, CRC
	if len(b) < headerEnd || string(b[12:16]) != "IHDR" {
		return fmt.Errorf("imageio: the PNG encoder wrote no IHDR first")
	}
	var chunks bytes.Buffer
	keys := make([]string, 0, len(text))
	for k := range text {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(k) < 1 || len(k) > 79 {
			return fmt.Errorf("imageio: PNG text keyword %q: want 1 to 79 bytes", k)
		}
		data := append(append([]byte(k), 0), text[k]...)
		writeChunk(&chunks, "tEXt", data)
	}
	for _, part := range [][]byte{b[:headerEnd], chunks.Bytes(), b[headerEnd:]} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// writeChunk appends one PNG chunk: length, type, data, CRC of type+data.
func writeChunk(w *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	crc := crc32.NewIEEE()
	io.WriteString(crc, typ)
	crc.Write(data)
	w.WriteString(typ)
	w.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	w.Write(n[:])
}

// SavePNGText is SavePNG with text chunks (see EncodePNG).
func SavePNGText(path string, img image.Image, text map[string]string) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return EncodePNG(w, img, text) }); err != nil {
		return fmt.Errorf("imageio: save %s: %w", path, err)
	}
	return nil
}

// SaveEachText is SaveEach with the same text chunks in every file.
func SaveEachText(dir string, first int, text map[string]string, imgs ...image.Image) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("imageio: %w", err)
	}
	for i, img := range imgs {
		if err := SavePNGText(filepath.Join(dir, FileName(first+i)), img, text); err != nil {
			return err
		}
	}
	return nil
}

// PNGText returns the tEXt chunks of a PNG file's bytes (keyword -> value).
func PNGText(b []byte) (map[string]string, error) {
	if len(b) < 8 || string(b[:8]) != "\x89PNG\r\n\x1a\n" {
		return nil, fmt.Errorf("imageio: not a PNG")
	}
	out := map[string]string{}
	for p := 8; p+12 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[p:]))
		if n < 0 || p+12+n > len(b) {
			return nil, fmt.Errorf("imageio: PNG chunk at byte %d overruns the file", p)
		}
		typ, data := string(b[p+4:p+8]), b[p+8:p+8+n]
		if typ == "tEXt" {
			if k, v, ok := bytes.Cut(data, []byte{0}); ok {
				out[string(k)] = string(v)
			}
		}
		if typ == "IEND" {
			break
		}
		p += 12 + n
	}
	return out, nil
}
