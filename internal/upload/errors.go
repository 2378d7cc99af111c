package upload

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/veripost/veripost/internal/apperror"
)

// allowedList is the list of accepted extensions as shown to users.
var allowedList = "." + strings.Join(KnownExtensions, ", .")

// HumanBytes formats a size in binary units for people: "912 bytes",
// "35.3 KiB", "64 MiB". Messages, the API and the web UI all use it.
func HumanBytes(n int64) string {
	trim := func(f float64, unit string) string {
		s := fmt.Sprintf("%.1f", f)
		return strings.TrimSuffix(s, ".0") + " " + unit
	}
	switch {
	case n == 1:
		return "1 byte"
	case n < 1024:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return trim(float64(n)/(1<<10), "KiB")
	case n < 1<<30:
		return trim(float64(n)/(1<<20), "MiB")
	}
	return trim(float64(n)/(1<<30), "GiB")
}

func badRequest(msg, detailFormat string, args ...any) *apperror.Error {
	return apperror.Newf(http.StatusBadRequest, apperror.CodeBadRequest, msg, detailFormat, args...)
}

func errMalformed(err error) *apperror.Error {
	return badRequest("The upload could not be read: the form data was incomplete or malformed. Try uploading again; if you use a script, send a multipart/form-data request.",
		"%v", err)
}

// streamError maps an error from reading the request body.
func streamError(err error, lim Limits) *apperror.Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errRequestTooLarge(mbe.Limit, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit))
	}
	if errors.Is(err, errMessageTooLarge) {
		return errRequestTooLarge(lim.MaxRequestBytes, err.Error())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return apperror.New(http.StatusRequestTimeout, apperror.CodeRequestTimeout,
			"The upload stopped arriving, so the server gave up waiting and saved nothing. Check the network connection and upload again.",
			err.Error())
	}
	return errMalformed(err)
}

func errRequestTooLarge(limit int64, detail string) *apperror.Error {
	return apperror.New(http.StatusRequestEntityTooLarge, apperror.CodeRequestTooLarge,
		fmt.Sprintf("The upload is too large: at most %s can be sent at once. A post package is normally well under 1 MiB; check that you picked the right files.", HumanBytes(limit)),
		detail)
}

func errNoFiles(detail string) *apperror.Error {
	return apperror.New(http.StatusBadRequest, apperror.CodeNoFiles,
		"No files were uploaded. Choose one .zip of the post package, or its files ("+allowedList+"), and try again.",
		detail)
}

func errNotZip(name string, data []byte) *apperror.Error {
	head := data[:min(len(data), 8)]
	what := "The file"
	if name != "" {
		what = quoteName(name) + " is named like a ZIP but"
	}
	return apperror.Newf(http.StatusBadRequest, apperror.CodeNotZip,
		fmt.Sprintf("%s is not a ZIP file. Re-create it as a .zip (in Windows Explorer: select the files, right-click, Send to > Compressed (zipped) folder), or upload the post files themselves.", what),
		"%d bytes, no ZIP signature at the start (first bytes: % x)", len(data), head)
}

func errNotZipName(name, why string) *apperror.Error {
	detail := quoteName(name) + " does not end in .zip"
	if why != "" {
		detail = quoteName(name) + ": " + why
	}
	return apperror.New(http.StatusBadRequest, apperror.CodeInvalidFileType,
		"Only a .zip file is accepted here. Put the post package's files ("+allowedList+") in one .zip and upload that.", detail)
}

func errUnsupported(names []string) *apperror.Error {
	return apperror.Newf(http.StatusBadRequest, apperror.CodeUnsupportedType,
		"Some uploaded files are not part of a UPG post package. Upload only "+allowedList+" files, or one .zip that contains them.",
		"unsupported file type: %s", listNames(names))
}

func errUnknownExtensions(names []string) *apperror.Error {
	return apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeUnknownExtensions,
		"The ZIP contains files that are not part of a UPG post package. Remove them (only "+allowedList+" files are allowed; ZIPs inside the ZIP are not unpacked), re-create the ZIP and upload it again.",
		"unknown extensions: %s", listNames(names))
}

func errUnsafe(fromZip bool, problems []string) *apperror.Error {
	where := "Some uploaded file names"
	if fromZip {
		where = "The ZIP contains entries whose names or types"
	}
	return apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeUnsafePath,
		where+" are not safe to use (links, control characters, or names Windows cannot store). Rename or remove those files and upload again.",
		"%s", strings.Join(capList(problems), "; "))
}

func errCorrupt(detailFormat string, args ...any) *apperror.Error {
	return apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeCorruptZip,
		"The ZIP file is damaged and could not be read. Re-create it with an ordinary ZIP tool (standard Deflate compression, no password) and upload it again.",
		detailFormat, args...)
}

func errEmpty(entries int) *apperror.Error {
	return apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeEmptyPackage,
		"The ZIP contains no files. Put the post files ("+allowedList+") in the ZIP and upload it again.",
		"%d entries, all of them folders or skipped system files (__MACOSX, .DS_Store, Thumbs.db, desktop.ini)", entries)
}

func errNoSRC(fromZip bool, names []string) *apperror.Error {
	where := "The uploaded files include"
	if fromZip {
		where = "The ZIP contains"
	}
	return apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeNoSource,
		where+" no .SRC file. Every post package needs its main .SRC source file: add it and upload again.",
		"files: %s", listNames(names))
}

func errDuplicate(where string, pairs []string) *apperror.Error {
	return apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeDuplicateName,
		where+" files have the same name (names are compared ignoring upper/lower case, as Windows does, and folders are ignored). Keep only one of each and upload again.",
		"same name: %s", strings.Join(capList(pairs), "; "))
}

func errTooManyFiles(limit int, detail string) *apperror.Error {
	return apperror.New(http.StatusUnprocessableEntity, apperror.CodeTooManyFiles,
		fmt.Sprintf("Too many files: a package may have at most %d. Upload only the post package's own files.", limit),
		detail)
}

func errTooManyEntries(lim Limits, got int) *apperror.Error {
	return apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeTooManyFiles,
		fmt.Sprintf("The ZIP has too many entries: a package may have at most %d files, and the ZIP at most %d entries counting folders. Put only the post package's own files in the ZIP.", lim.MaxFiles, lim.maxEntries()),
		"ZIP has up to %d entries (files, folders and skipped system files), limit %d", got, lim.maxEntries())
}

func errFileTooLarge(name string, limit int64, detail string) *apperror.Error {
	return apperror.New(http.StatusRequestEntityTooLarge, apperror.CodeFileTooLarge,
		fmt.Sprintf("%s is too large: one file may be at most %s. Post files are normally well under 1 MiB; check that it is the right file.", quoteName(name), HumanBytes(limit)),
		detail)
}

func errPackageTooLarge(limit int64, detail string) *apperror.Error {
	return apperror.New(http.StatusRequestEntityTooLarge, apperror.CodeTooLarge,
		fmt.Sprintf("The package is too large: its files may add up to at most %s. Upload only the post package's own files.", HumanBytes(limit)),
		detail)
}

func errSuspicious(detailFormat string, args ...any) *apperror.Error {
	return apperror.Newf(http.StatusUnprocessableEntity, apperror.CodeZipBomb,
		"The ZIP was refused because it unpacks to far more data than real post files do (it looks like a \"zip bomb\"). Re-create it with an ordinary ZIP tool from the post files and upload it again.",
		detailFormat, args...)
}

// capList keeps error details bounded.
func capList(items []string) []string {
	const maxShown = 20
	if len(items) <= maxShown {
		return items
	}
	out := append([]string(nil), items[:maxShown]...)
	return append(out, fmt.Sprintf("and %d more", len(items)-maxShown))
}
