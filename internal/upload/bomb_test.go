package upload

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/apperror"
)

const bombSize = 200 << 20 // 200 MiB of zeros

var bomb struct {
	once       sync.Once
	compressed []byte // raw Deflate stream of bombSize zeros
	crc        uint32
}

// bombStream returns 200 MiB of zeros, deflated (about 200 KB), and its CRC.
func bombStream(t testing.TB) ([]byte, uint32) {
	t.Helper()
	bomb.once.Do(func() {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestSpeed)
		zeros := make([]byte, 1<<20)
		h := crc32.NewIEEE()
		for range bombSize / len(zeros) {
			w.Write(zeros)
			h.Write(zeros)
		}
		w.Close()
		bomb.compressed, bomb.crc = buf.Bytes(), h.Sum32()
	})
	return bomb.compressed, bomb.crc
}

// measure runs fn and returns the bytes it allocated and how long it took.
func measure(fn func()) (uint64, time.Duration) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	fn()
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, d
}

func TestZipBomb(t *testing.T) {
	stream, crc := bombStream(t)
	t.Logf("bomb: %d bytes of zeros deflated to %d bytes (%.0f:1)", bombSize, len(stream), float64(bombSize)/float64(len(stream)))
	bombEntry := func(usize uint64) zent {
		return zent{name: "zeros.LIB", raw: true, rawMethod: zip.Deflate, data: stream, crc: crc, usize: usize}
	}
	okSRC := zent{name: "post.SRC", data: src}
	atRatio := uint64(DefaultLimits().ratioCap(uint64(len(stream))))
	// Many entries, each under RatioGraceBytes: the whole-archive ratio applies.
	mib := make([]byte, RatioGraceBytes)
	var small []zent
	mibEntry := rawDeflated(t, "", mib)
	for i := range 200 {
		e := mibEntry
		e.name = fmt.Sprintf("z%03d.LIB", i)
		small = append(small, e)
	}
	small = append(small, okSRC)
	tests := []struct {
		name     string
		zip      []byte
		lim      Limits
		code     string
		maxAlloc uint64
	}{
		// Honest headers: refused from the central directory, nothing is inflated.
		{"honest headers", buildZip(t, okSRC, bombEntry(bombSize)), Limits{}, apperror.CodeZipBomb, 1 << 20},
		{"honest headers, ratio limit off", buildZip(t, okSRC, bombEntry(bombSize)), Limits{MaxCompressionRatio: 1e9}, apperror.CodeFileTooLarge, 1 << 20},
		{"honest headers, total limit", buildZip(t, okSRC, bombEntry(bombSize)), Limits{MaxCompressionRatio: 1e9, MaxFileBytes: 1 << 30, MaxTotalBytes: 100 << 20}, apperror.CodeTooLarge, 1 << 20},
		// Lying headers: the central directory claims a small entry; the
		// data is stopped while inflating, as soon as it passes the claim.
		{"claims 1 KiB", buildZip(t, okSRC, bombEntry(1024)), Limits{}, apperror.CodeCorruptZip, 2 << 20},
		{"claims 1 MiB (the ratio grace)", buildZip(t, okSRC, bombEntry(RatioGraceBytes)), Limits{}, apperror.CodeCorruptZip, 4 << 20},
		{"claims exactly the ratio limit", buildZip(t, okSRC, bombEntry(atRatio)), Limits{}, apperror.CodeCorruptZip, atRatio + 4<<20},
		{"claims the file limit", buildZip(t, okSRC, bombEntry(8<<20)), Limits{MaxFileBytes: 8 << 20, MaxCompressionRatio: 1e9}, apperror.CodeCorruptZip, 12 << 20},
		{"200 entries of 1 MiB zeros", buildZip(t, small...), Limits{}, apperror.CodeZipBomb, 1 << 20},
		{"claims 0", buildZip(t, okSRC, bombEntry(0)), Limits{}, apperror.CodeCorruptZip, 2 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			alloc, took := measure(func() { _, err = ReadZip(tt.zip, tt.lim) })
			ae, _ := apperror.As(err)
			if ae == nil || ae.Code != tt.code {
				t.Fatalf("got %v, want %s", err, tt.code)
			}
			t.Logf("%s in %v, allocated %.1f MiB (bomb %d MiB): %s", ae.Code, took, float64(alloc)/(1<<20), bombSize>>20, ae.Detail)
			if alloc > tt.maxAlloc {
				t.Errorf("allocated %d bytes, want at most %d", alloc, tt.maxAlloc)
			}
			if took > 5*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

// A bomb sent through the multipart path is refused the same way.
func TestZipBombMultipart(t *testing.T) {
	stream, crc := bombStream(t)
	z := buildZip(t, zent{name: "post.SRC", data: src},
		zent{name: "zeros.LIB", raw: true, rawMethod: zip.Deflate, data: stream, crc: crc, usize: bombSize})
	var err error
	alloc, took := measure(func() {
		_, err = ReadMultipart(mpReader(t, filePart("files", "bomb.zip", z)), Limits{})
	})
	wantErr(t, err, 422, apperror.CodeZipBomb)
	t.Logf("refused in %v, allocated %.1f MiB", took, float64(alloc)/(1<<20))
	if alloc > 8<<20 {
		t.Errorf("allocated %d bytes", alloc)
	}
}
