package upload

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"unicode/utf8"
)

var errMessageTooLarge = multipart.ErrMessageTooLarge

// ReadMultipart reads a multipart/form-data upload. File parts may use any
// field name (the API uses "files"); they must be either exactly one .zip
// or one or more loose UPG files. Other parts are form fields, collected
// into Upload.Fields within Limits.MaxFields and Limits.MaxFieldBytes.
//
// Bytes are counted while streaming: part bodies beyond
// Limits.MaxRequestBytes stop the read with 413 REQUEST_TOO_LARGE, loose
// files beyond MaxFileBytes or MaxTotalBytes stop it as soon as they cross
// the limit. An *http.MaxBytesError from the underlying body (the handler
// should wrap it with http.MaxBytesReader, since only part bodies can be
// counted here) also becomes REQUEST_TOO_LARGE. Errors are *apperror.Error.
func ReadMultipart(mr *multipart.Reader, lim Limits) (*Upload, error) {
	return readMultipart(mr, lim, false)
}

// ReadZipMultipart is ReadMultipart for a form that must carry one .zip
// (the original API's package upload): a file part with any other name
// fails at once, before its bytes are read, with 400 INVALID_FILE_TYPE.
func ReadZipMultipart(mr *multipart.Reader, lim Limits) (*Upload, error) {
	return readMultipart(mr, lim, true)
}

func readMultipart(mr *multipart.Reader, lim Limits, zipOnly bool) (*Upload, error) {
	lim = lim.normalized()
	s := &mpState{lim: lim, up: &Upload{Fields: map[string]string{}}, zipOnly: zipOnly}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, streamError(err, lim)
		}
		s.parts++
		if s.parts > lim.maxParts() {
			return nil, errTooManyFiles(lim.MaxFiles, fmt.Sprintf("the form has more than %d parts (files, skipped files and fields)", lim.maxParts()))
		}
		// On error, return at once: Part.Close would read the rest of a
		// possibly endless part.
		if err := s.part(p); err != nil {
			return nil, err
		}
	}
	switch {
	case s.haveZip:
		files, err := readZip(s.up.ZipName, s.zipData, lim)
		if err != nil {
			return nil, err
		}
		s.up.Files, s.up.FromZip = files, true
	case len(s.loose) == 0:
		return nil, errNoFiles(fmt.Sprintf("the form has %d parts and no (non-empty, non-system) file", s.parts))
	default:
		files, err := ReadLooseFiles(s.loose, lim)
		if err != nil {
			return nil, err
		}
		s.up.Files = files
	}
	return s.up, nil
}

type mpState struct {
	lim        Limits
	up         *Upload
	zipOnly    bool // any file but one .zip is refused
	parts      int
	used       int64 // part-body bytes read so far
	haveZip    bool
	zipData    []byte
	loose      []Named
	looseFiles int   // loose files with a UPG extension
	looseBytes int64 // their bytes
	firstLoose string
}

func (s *mpState) remaining() int64 { return s.lim.MaxRequestBytes - s.used }

// read reads a part body, keeping at most limit bytes; over reports that
// it had more. Bytes are counted toward the request.
func (s *mpState) read(r io.Reader, limit, hint int64) (b []byte, over bool, err error) {
	b, over, err = readCapped(r, limit, hint)
	s.used += int64(len(b))
	if err != nil {
		return nil, false, streamError(err, s.lim)
	}
	return b, over, nil
}

// drain reads and discards a part body, counting it.
func (s *mpState) drain(r io.Reader) (int64, error) {
	rem := s.remaining()
	n, err := io.CopyN(io.Discard, r, rem+1)
	s.used += n
	if n > rem {
		return n, s.tooLarge()
	}
	if err != nil && err != io.EOF {
		return n, streamError(err, s.lim)
	}
	return n, nil
}

func (s *mpState) tooLarge() error {
	return errRequestTooLarge(s.lim.MaxRequestBytes, fmt.Sprintf("form parts exceed %d bytes", s.lim.MaxRequestBytes))
}

func (s *mpState) part(p *multipart.Part) error {
	cd := p.Header.Get("Content-Disposition")
	disp, params, err := mime.ParseMediaType(cd)
	if err != nil || !strings.EqualFold(disp, "form-data") {
		return errMalformed(fmt.Errorf("part %d: Content-Disposition %q is not form-data (%v)", s.parts, cd, err))
	}
	filename, isFile := params["filename"]
	if !isFile {
		return s.field(p, params["name"])
	}
	if filename == "" {
		// A file input left empty is sent as filename="" with no data.
		n, err := s.drain(p)
		if err != nil {
			return err
		}
		if n > 0 {
			return badRequest("A file was sent without a file name. Give every file its name (for example post.SRC) and try again.",
				"part %d (field %q): %d bytes, empty filename", s.parts, params["name"], n)
		}
		return nil
	}
	if isJunk(filename) {
		_, err := s.drain(p)
		return err
	}
	base, why := flatten(filename)
	if why == "" && extOf(base) == "ZIP" {
		return s.zip(p, base)
	}
	if s.zipOnly {
		return errNotZipName(filename, why)
	}
	if s.haveZip {
		return errMixed(s.up.ZipName, filename)
	}
	if s.firstLoose == "" {
		s.firstLoose = filename
	}
	if why != "" || !isKnownExt(extOf(base)) {
		// Rejected later, together with the other bad names; no need to
		// keep the bytes.
		if _, err := s.drain(p); err != nil {
			return err
		}
		s.loose = append(s.loose, Named{Name: filename})
		return nil
	}
	s.looseFiles++
	if s.looseFiles > s.lim.MaxFiles {
		return errTooManyFiles(s.lim.MaxFiles, fmt.Sprintf("more than %d files uploaded", s.lim.MaxFiles))
	}
	fileCap, totalCap, reqCap := s.lim.MaxFileBytes, s.lim.MaxTotalBytes-s.looseBytes, s.remaining()
	limit := min(fileCap, totalCap, reqCap)
	b, over, err := s.read(p, limit, 64<<10)
	if err != nil {
		return err
	}
	if over {
		switch limit {
		case reqCap:
			return s.tooLarge()
		case fileCap:
			return errFileTooLarge(base, s.lim.MaxFileBytes, fmt.Sprintf("%s is larger than %d bytes", quoteName(filename), s.lim.MaxFileBytes))
		default:
			return errPackageTooLarge(s.lim.MaxTotalBytes, fmt.Sprintf("uploaded files add up to more than %d bytes", s.lim.MaxTotalBytes))
		}
	}
	s.looseBytes += int64(len(b))
	s.loose = append(s.loose, Named{Name: filename, Data: b})
	return nil
}

func (s *mpState) zip(p *multipart.Part, base string) error {
	if s.haveZip {
		return badRequest("Upload one ZIP at a time: put all files of the post package into a single .zip.",
			"second ZIP %s after %s", quoteName(base), quoteName(s.up.ZipName))
	}
	if s.firstLoose != "" {
		return errMixed(base, s.firstLoose)
	}
	b, over, err := s.read(p, s.remaining(), 512<<10)
	if err != nil {
		return err
	}
	if over {
		return s.tooLarge()
	}
	s.haveZip, s.zipData, s.up.ZipName = true, b, base
	return nil
}

func errMixed(zipName, loose string) error {
	return badRequest("Upload either one .zip of the post package or its files, not both. Remove the ZIP or the other files and try again.",
		"ZIP %s sent together with %s", quoteName(zipName), quoteName(loose))
}

func (s *mpState) field(p *multipart.Part, name string) error {
	switch {
	case name == "":
		return errMalformed(fmt.Errorf("part %d is neither a file nor a named form field", s.parts))
	case len(name) > maxFieldNameBytes || !utf8.ValidString(name):
		return badRequest("The upload form has a field with an invalid name. Use the VeriPost form or API field names (name, package_id, note, files).",
			"field name of %d bytes (limit %d) or not UTF-8: %s", len(name), maxFieldNameBytes, quoteName(name))
	case len(s.up.Fields) >= s.lim.MaxFields:
		return badRequest(fmt.Sprintf("The upload form has too many fields (at most %d). Send only the fields the form asks for.", s.lim.MaxFields),
			"more than %d non-file fields", s.lim.MaxFields)
	}
	if _, dup := s.up.Fields[name]; dup {
		return badRequest(fmt.Sprintf("The form field %s was sent twice. Send each field once.", quoteName(name)),
			"duplicate field %s", quoteName(name))
	}
	reqCap := s.remaining()
	limit := min(s.lim.MaxFieldBytes, reqCap)
	b, over, err := s.read(p, limit, 0)
	if err != nil {
		return err
	}
	if over {
		if limit == reqCap {
			return s.tooLarge()
		}
		return badRequest(fmt.Sprintf("The form field %s is too long: at most %s. Shorten it and try again.", quoteName(name), HumanBytes(s.lim.MaxFieldBytes)),
			"field %s is longer than %d bytes", quoteName(name), s.lim.MaxFieldBytes)
	}
	if !utf8.Valid(b) {
		return badRequest(fmt.Sprintf("The form field %s is not valid text. Send it as UTF-8.", quoteName(name)),
			"field %s: %d bytes, invalid UTF-8", quoteName(name), len(b))
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return badRequest(fmt.Sprintf("The form field %s contains a NUL character (code 0), which VeriPost does not accept. Remove it and try again.", quoteName(name)),
			"field %s: NUL character", quoteName(name))
	}
	s.up.Fields[name] = string(b)
	return nil
}
