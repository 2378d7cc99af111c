package upload

import "math"

// Limits bounds what one upload may cost. A zero or negative field means
// "use the default" (see DefaultLimits), so Limits{} is safe.
type Limits struct {
	// MaxRequestBytes bounds the whole request body, and the size of a ZIP
	// given to ReadZip. The HTTP handler should also wrap the body with
	// http.MaxBytesReader using this value (ReadMultipart can only count
	// part bodies, not the multipart framing).
	MaxRequestBytes int64
	// MaxFiles bounds the number of files after flattening and skipping.
	MaxFiles int
	// MaxFileBytes bounds one file, uncompressed.
	MaxFileBytes int64
	// MaxTotalBytes bounds all files together, uncompressed.
	MaxTotalBytes int64
	// MaxCompressionRatio bounds uncompressed/compressed size of ZIP
	// entries: one entry may decompress to at most
	// MaxCompressionRatio × its compressed size + RatioGraceBytes, and all
	// entries together to MaxCompressionRatio × their compressed size +
	// RatioGraceBytes (so that small, very repetitive files are never
	// refused, and many small bombs do not add up to a big one).
	MaxCompressionRatio float64
	// MaxFields bounds the number of non-file form fields.
	MaxFields int
	// MaxFieldBytes bounds one form field value.
	MaxFieldBytes int64
}

// RatioGraceBytes is the allowance added to MaxCompressionRatio × compressed
// size, for an entry and for the whole archive alike.
const RatioGraceBytes = 1 << 20

// Default limits. Real packages are tiny: the five packages of the shared
// test corpus hold 4 to 7 files, 0.2 to 0.6 MB in total, the largest file
// (a stock MILL.LIB) is 301 KB. The limits below leave two orders of
// magnitude of headroom while keeping one request's memory bounded
// (request + decompressed files ≤ 320 MiB).
//
// The compression ratio: those files deflate at 1.9:1 to 10.0:1 (LATHE.LIB
// at level 9 is the maximum; binary .CTL about 6.4:1), so 100:1 is a 10×
// margin over the most compressible real file, while a zip bomb made of
// zeros deflates at about 1000:1.
const (
	DefaultMaxRequestBytes     = 64 << 20
	DefaultMaxFiles            = 500
	DefaultMaxFileBytes        = 32 << 20
	DefaultMaxTotalBytes       = 256 << 20
	DefaultMaxCompressionRatio = 100
	DefaultMaxFields           = 32
	DefaultMaxFieldBytes       = 16 << 10
)

// maxFieldNameBytes bounds the name of a form field.
const maxFieldNameBytes = 256

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxRequestBytes:     DefaultMaxRequestBytes,
		MaxFiles:            DefaultMaxFiles,
		MaxFileBytes:        DefaultMaxFileBytes,
		MaxTotalBytes:       DefaultMaxTotalBytes,
		MaxCompressionRatio: DefaultMaxCompressionRatio,
		MaxFields:           DefaultMaxFields,
		MaxFieldBytes:       DefaultMaxFieldBytes,
	}
}

// normalized replaces unset (zero, negative, NaN) fields by the defaults.
func (l Limits) normalized() Limits {
	d := DefaultLimits()
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = d.MaxRequestBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = d.MaxTotalBytes
	}
	if !(l.MaxCompressionRatio > 0) || math.IsInf(l.MaxCompressionRatio, 0) {
		l.MaxCompressionRatio = d.MaxCompressionRatio
	}
	if l.MaxFields <= 0 {
		l.MaxFields = d.MaxFields
	}
	if l.MaxFieldBytes <= 0 {
		l.MaxFieldBytes = d.MaxFieldBytes
	}
	return l
}

// ratioCap is the most that c compressed bytes may decompress to.
func (l Limits) ratioCap(c uint64) int64 {
	v := l.MaxCompressionRatio*float64(c) + RatioGraceBytes
	if v >= math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	return int64(v)
}

// maxEntries bounds the raw number of ZIP central-directory entries that
// are parsed at all (files plus directories, __MACOSX twins and other
// skipped entries), so a 64 MiB archive of empty entries cannot make the
// ZIP reader allocate hundreds of megabytes of headers.
func (l Limits) maxEntries() int {
	return 4*l.MaxFiles + 256
}

// maxParts bounds the parts of a multipart form: files (including skipped
// and rejected ones, as for maxEntries) and fields.
func (l Limits) maxParts() int {
	return l.maxEntries() + l.MaxFields
}
