// Package upload turns an untrusted upload — a multipart form, a ZIP archive
// or loose files — into a validated, flattened set of UPG post-processor
// files, or into an *apperror.Error that says what is wrong and what to do.
//
// # What is accepted
//
// A package is a flat set of files whose extensions are in KnownExtensions
// (compared case-insensitively), with at least one .SRC and no two names
// equal when compared case-insensitively (Windows file systems are).
// A multipart upload carries either exactly one .zip or one or more loose
// UPG files, never both.
//
// # Path policy
//
// Files are never written to disk under a name taken from the archive, and
// only the last path element of every name is kept ("flattening"; both '/'
// and '\' count as separators). Path traversal ("../x.SRC"), absolute paths
// ("/etc/x.SRC", "C:\x.SRC") and backslash paths therefore cannot escape
// anything and are accepted: they become "x.SRC". What is rejected with
// UNSAFE_PATH (422) is anything whose meaning depends on the file system or
// that cannot be shown or stored faithfully:
//   - symbolic links and other special entries (devices, pipes, sockets);
//   - a base name that is empty, "." or "..", longer than 255 bytes, ends
//     in a dot or a space, is a Windows device name (CON, NUL, COM1.SRC…),
//     or contains one of <>:"|?*;
//   - control characters (C0, DEL, C1) or invisible format characters (for
//     example U+202E, which can make "exe.SRC" look like "CRS.exe") anywhere
//     in the path, including NUL.
//
// ZIP names that are not valid UTF-8 are decoded as code page 437, as the
// ZIP specification says for entries without the UTF-8 flag (old Windows
// zippers write them that way).
//
// Directory entries, anything under a __MACOSX/ folder, AppleDouble "._*"
// files, .DS_Store, Thumbs.db, desktop.ini and the macOS "Icon\r" file are
// skipped silently, in ZIPs and among loose files alike (a browser folder
// upload sends them too).
//
// # Limits
//
// See Limits. For ZIPs, every limit is first checked against the sizes the
// central directory declares (before anything is decompressed), and then
// enforced again while decompressing, by counting the bytes actually
// produced, so an archive that lies about its sizes is stopped as well.
package upload

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// KnownExtensions are the file types of a UPG post package, upper-case and
// without the dot (upg.Extensions: .CTL is the compiled post, .T32/.INC
// are sources pulled in by :INCLUDE=).
var KnownExtensions = upg.Extensions

// File is one validated file of a package.
type File struct {
	Name   string // flattened base name as uploaded, e.g. "Tormach PCNC1100 Series 3.SRC"
	Ext    string // upper-case extension without the dot: one of KnownExtensions
	Size   int64  // len(Data)
	SHA256 string // lower-case hex SHA-256 of Data
	Data   []byte
}

// Upload is the result of ReadMultipart.
type Upload struct {
	// Files sorted by name, case-insensitively (ties broken byte-wise).
	Files []File
	// Fields holds the non-file form fields (name, package_id, note, …),
	// at most Limits.MaxFields of them, each at most Limits.MaxFieldBytes.
	Fields map[string]string
	// FromZip is true when the files came out of an uploaded ZIP.
	FromZip bool
	// ZipName is the flattened name of that ZIP, "" for loose files.
	ZipName string
}

// Named is one file as received, before validation.
type Named struct {
	Name string // as sent by the client; may contain a path
	Data []byte
}

// newFile builds a File; name must already be flattened and validated.
func newFile(name, ext string, data []byte) File {
	sum := sha256.Sum256(data)
	return File{Name: name, Ext: ext, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Data: data}
}

// sortFiles orders files case-insensitively by name, ties broken byte-wise,
// so the order is deterministic and matches what a Windows user expects.
func sortFiles(files []File) {
	slices.SortFunc(files, func(a, b File) int {
		if c := cmp.Compare(foldName(a.Name), foldName(b.Name)); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
}

// entryName is a candidate file: its flattened name and where it came from.
type entryName struct {
	name string // flattened base name
	path string // full path as uploaded (decoded), for messages
	ext  string
}

// checkNames applies the package-level rules that depend only on names:
// no case-insensitive duplicates, and at least one .SRC.
func checkNames(entries []entryName, fromZip bool) error {
	seen := make(map[string]string, len(entries))
	var dups []string
	hasSRC := false
	for _, e := range entries {
		if e.ext == "SRC" {
			hasSRC = true
		}
		k := foldName(e.name)
		if first, ok := seen[k]; ok {
			dups = append(dups, quoteName(first)+" and "+quoteName(e.path))
			continue
		}
		seen[k] = e.path
	}
	if len(dups) > 0 {
		where := "Among the uploaded files, two"
		if fromZip {
			where = "Inside the ZIP, two"
		}
		return errDuplicate(where, dups)
	}
	if !hasSRC {
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.name
		}
		return errNoSRC(fromZip, names)
	}
	return nil
}

// foldName is the case-insensitive comparison key for file names.
func foldName(s string) string { return strings.ToLower(strings.ToUpper(s)) }
