// Package zpack compresses stored bytes (analyses, search document lines)
// as zstd frames: one encoder and one decoder serve the process, and what
// a frame may expand to is bounded.
package zpack

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// MaxUnpacked bounds what one stored frame may expand to: the largest
// stored part is far smaller, and a corrupt or hostile frame must not make
// the reader allocate gigabytes.
const MaxUnpacked = 256 << 20

// The better level: about 4% smaller than the default for 1.5 times its
// time; the best level (another 6%) costs as much as analysing the file.
// EncodeAll and DecodeAll are safe for concurrent use and keep their state
// in internal pools, so no call allocates a compressor's tables. No
// checksum: the decoders check what they read, and 4 bytes per frame add
// up over millions of rows.
var (
	enc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true))
	dec, _ = zstd.NewReader(nil, zstd.WithDecoderMaxMemory(MaxUnpacked), zstd.WithDecoderConcurrency(0))
)

var magic = []byte{0x28, 0xB5, 0x2F, 0xFD}

// IsZstd reports whether b starts with a zstd frame's magic number.
func IsZstd(b []byte) bool { return bytes.HasPrefix(b, magic) }

// Compress returns raw as one zstd frame.
func Compress(raw []byte) []byte { return enc.EncodeAll(raw, make([]byte, 0, len(raw)/4+16)) }

// ErrCorrupt is returned for bytes that are not a whole frame.
var ErrCorrupt = errors.New("corrupt zstd frame")

// Decompress returns the bytes of a frame Compress wrote.
func Decompress(b []byte) ([]byte, error) {
	if !IsZstd(b) {
		return nil, ErrCorrupt
	}
	raw, err := dec.DecodeAll(b, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return raw, nil
}
