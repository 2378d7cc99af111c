package upload

import (
	"archive/zip"
	"bytes"
	"cmp"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
)

// zipSignatures are the byte sequences a ZIP file starts with: a local
// file header, an empty archive's end record, or the spanning marker.
var zipSignatures = [][]byte{[]byte("PK\x03\x04"), []byte("PK\x05\x06"), []byte("PK\x07\x08")}

// centralDirSig starts every central-directory entry.
var centralDirSig = []byte("PK\x01\x02")

// IsZip reports whether data starts with a ZIP signature.
func IsZip(data []byte) bool {
	for _, s := range zipSignatures {
		if bytes.HasPrefix(data, s) {
			return true
		}
	}
	return false
}

// zipEntry is a ZIP entry that will become a File.
type zipEntry struct {
	entryName
	f *zip.File
}

// ReadZip validates a ZIP archive of a post package and returns its files,
// flattened and sorted by name. See the package documentation for the
// rules. Errors are *apperror.Error.
func ReadZip(data []byte, lim Limits) ([]File, error) {
	return readZip("", data, lim)
}

func readZip(zipName string, data []byte, lim Limits) ([]File, error) {
	lim = lim.normalized()
	if int64(len(data)) > lim.MaxRequestBytes {
		return nil, errRequestTooLarge(lim.MaxRequestBytes,
			fmt.Sprintf("ZIP is %d bytes, limit %d", len(data), lim.MaxRequestBytes))
	}
	if !IsZip(data) {
		return nil, errNotZip(zipName, data)
	}
	// Bound the work zip.NewReader does before it allocates one header per
	// central-directory entry: every entry starts with the signature, so
	// counting signatures gives an upper bound without parsing.
	if n := bytes.Count(data, centralDirSig); n > lim.maxEntries() {
		return nil, errTooManyEntries(lim, n)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // we flatten; see package doc
		return nil, errCorrupt("reading the ZIP directory: %v", err)
	}

	// Pass 1: names and types, from the central directory only.
	var (
		entries []zipEntry
		unsafe  []string
		unknown []string
	)
	for _, f := range zr.File {
		p := decodeZipName(f.Name)
		if isDirPath(p) || f.Mode().IsDir() || isJunk(p) {
			continue
		}
		if t := f.Mode().Type(); t != 0 {
			unsafe = append(unsafe, fmt.Sprintf("%s is a %s, not a regular file", quoteName(p), modeKind(t)))
			continue
		}
		name, why := flatten(p)
		if why != "" {
			unsafe = append(unsafe, quoteName(p)+": "+why)
			continue
		}
		ext := extOf(name)
		if !isKnownExt(ext) {
			unknown = append(unknown, p)
		}
		entries = append(entries, zipEntry{entryName{name: name, path: p, ext: ext}, f})
	}
	switch {
	case len(unsafe) > 0:
		return nil, errUnsafe(true, unsafe)
	case len(entries) == 0:
		return nil, errEmpty(len(zr.File))
	case len(unknown) > 0:
		return nil, errUnknownExtensions(unknown)
	case len(entries) > lim.MaxFiles:
		return nil, errTooManyFiles(lim.MaxFiles, fmt.Sprintf("%d files in the ZIP, limit %d", len(entries), lim.MaxFiles))
	}

	// Pass 2: declared sizes and layout, still without decompressing.
	if err := checkDeclared(entries, int64(len(data)), lim); err != nil {
		return nil, err
	}
	names := make([]entryName, len(entries))
	for i, e := range entries {
		names[i] = e.entryName
	}
	if err := checkNames(names, true); err != nil {
		return nil, err
	}

	// Pass 3: decompress, counting what really comes out.
	files := make([]File, 0, len(entries))
	var total int64
	var compressed uint64
	for _, e := range entries {
		compressed += e.f.CompressedSize64
		b, err := readEntry(e, lim, total, compressed)
		if err != nil {
			return nil, err
		}
		total += int64(len(b))
		files = append(files, newFile(e.name, e.ext, b))
	}
	sortFiles(files)
	return files, nil
}

func modeKind(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// checkDeclared checks what the central directory and local headers
// declare: supported method, no encryption, data inside the archive and not
// shared between entries, and the size limits.
func checkDeclared(entries []zipEntry, zipSize int64, lim Limits) error {
	type span struct {
		start, end int64
		path       string
	}
	spans := make([]span, 0, len(entries))
	var total, compressed uint64
	for _, e := range entries {
		f := e.f
		if f.Flags&0x1 != 0 {
			return errCorrupt("entry %s is encrypted (password-protected ZIPs are not supported)", quoteName(e.path))
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return errCorrupt("entry %s uses compression method %d; only Store (0) and Deflate (8) are supported", quoteName(e.path), f.Method)
		}
		off, err := f.DataOffset()
		if err != nil {
			return errCorrupt("entry %s: local header: %v", quoteName(e.path), err)
		}
		if f.CompressedSize64 > uint64(zipSize) || off < 0 || off > zipSize-int64(f.CompressedSize64) {
			return errCorrupt("entry %s: its data (%d bytes at offset %d) extends past the end of the %d-byte archive", quoteName(e.path), f.CompressedSize64, off, zipSize)
		}
		if f.CompressedSize64 > 0 {
			spans = append(spans, span{off, off + int64(f.CompressedSize64), e.path})
		}
		if u := f.UncompressedSize64; u > uint64(lim.ratioCap(f.CompressedSize64)) {
			return errSuspicious("entry %s declares %d bytes from %d compressed (ratio %.0f:1, limit %.0f:1)",
				quoteName(e.path), u, f.CompressedSize64, float64(u)/float64(max(f.CompressedSize64, 1)), lim.MaxCompressionRatio)
		}
		if f.UncompressedSize64 > uint64(lim.MaxFileBytes) {
			return errFileTooLarge(e.name, lim.MaxFileBytes, fmt.Sprintf("entry %s declares %d bytes uncompressed, limit %d", quoteName(e.path), f.UncompressedSize64, lim.MaxFileBytes))
		}
		total += f.UncompressedSize64    // each ≤ MaxFileBytes: cannot overflow with ≤ maxEntries entries
		compressed += f.CompressedSize64 // each ≤ zipSize
		if total > uint64(lim.MaxTotalBytes) {
			return errPackageTooLarge(lim.MaxTotalBytes, fmt.Sprintf("files in the ZIP declare at least %d bytes uncompressed, limit %d", total, lim.MaxTotalBytes))
		}
	}
	// The ratio also applies to the archive as a whole, or many entries
	// each just under RatioGraceBytes would add up to a bomb.
	if total > uint64(lim.ratioCap(compressed)) {
		return errSuspicious("the %d files declare %d bytes in total from %d compressed (ratio %.0f:1, limit %.0f:1)",
			len(entries), total, compressed, float64(total)/float64(max(compressed, 1)), lim.MaxCompressionRatio)
	}
	// Entries whose compressed data overlap are the trick behind
	// non-recursive zip bombs (many entries expanding the same bytes).
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end {
			return errSuspicious("entries %s and %s share compressed data (bytes %d–%d overlap)",
				quoteName(spans[i-1].path), quoteName(spans[i].path), spans[i].start, min(spans[i].end, spans[i-1].end))
		}
	}
	return nil
}

// readEntry decompresses one entry. It never trusts the declared size: it
// reads at most one byte more than the tightest limit allows (file size,
// what is left of the total, compression ratio of the entry and of all
// entries so far) and counts. total is what the previous entries produced,
// compressed the compressed size of those entries and this one.
func readEntry(e zipEntry, lim Limits, total int64, compressed uint64) ([]byte, error) {
	f := e.f
	fileCap, totalCap := lim.MaxFileBytes, lim.MaxTotalBytes-total
	ratioCap := min(lim.ratioCap(f.CompressedSize64), lim.ratioCap(compressed)-total)
	limit := min(fileCap, totalCap, ratioCap)
	rc, err := f.Open()
	if err != nil {
		return nil, errCorrupt("entry %s: %v", quoteName(e.path), err)
	}
	defer rc.Close()
	// Trust the declared size only as an allocation hint, and only as far
	// as the limit.
	hint := int64(min(f.UncompressedSize64, uint64(limit)))
	b, over, err := readCapped(rc, limit, hint)
	if over {
		got := int64(len(b)) // limit+1 bytes: "more than limit"
		switch limit {
		case fileCap:
			return nil, errFileTooLarge(e.name, lim.MaxFileBytes, fmt.Sprintf("entry %s decompresses to more than %d bytes (declared %d)", quoteName(e.path), lim.MaxFileBytes, f.UncompressedSize64))
		case totalCap:
			return nil, errPackageTooLarge(lim.MaxTotalBytes, fmt.Sprintf("files in the ZIP decompress to more than %d bytes", lim.MaxTotalBytes))
		default:
			return nil, errSuspicious("entry %s decompresses to more than %d bytes, beyond %.0f:1 of the compressed data (%d bytes compressed; declared %d uncompressed)",
				quoteName(e.path), got-1, lim.MaxCompressionRatio, f.CompressedSize64, f.UncompressedSize64)
		}
	}
	if err != nil {
		var ce flate.CorruptInputError
		switch {
		case errors.Is(err, zip.ErrChecksum):
			return nil, errCorrupt("entry %s: CRC-32 checksum mismatch", quoteName(e.path))
		case errors.Is(err, zip.ErrFormat):
			// archive/zip reports data beyond the declared size this way.
			return nil, errCorrupt("entry %s holds more data than the %d bytes its directory entry declares", quoteName(e.path), f.UncompressedSize64)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, errCorrupt("entry %s ends before the %d bytes its directory entry declares", quoteName(e.path), f.UncompressedSize64)
		case errors.As(err, &ce):
			return nil, errCorrupt("entry %s: compressed data is damaged: %v", quoteName(e.path), err)
		}
		return nil, errCorrupt("entry %s: %v", quoteName(e.path), err)
	}
	return b, nil
}

// readCapped reads r to EOF, keeping at most limit bytes. If r has more,
// it returns limit+1 bytes and over=true, having read no further. hint is
// the expected size, used to allocate once.
func readCapped(r io.Reader, limit, hint int64) (b []byte, over bool, err error) {
	hint = min(max(hint, 0), limit)
	// +1 so that reading exactly hint bytes and then EOF needs no growth.
	b = make([]byte, 0, hint+1)
	lr := io.LimitReader(r, limit+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return b, true, nil
		}
		if err == io.EOF {
			return b, false, nil
		}
		if err != nil {
			return b, false, err
		}
	}
}
