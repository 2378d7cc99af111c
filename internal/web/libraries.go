package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/store"
)

// pathBase is the file name of a declared :LIBRARY= path (Windows or
// Unix separators).
func pathBase(p string) string {
	p = strings.TrimSpace(p)
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// libTip explains how a declared path resolved.
func libTip(l index.LibraryUse) string {
	base := pathBase(l.DeclaredPath)
	if l.ResolvedFileID == "" {
		return "Not in this package. VeriPost resolves a library path by its file name (" + base +
			") among the package’s files, ignoring the folders in the path, because a package is stored as one flat folder. " +
			"No file of this package is called " + base + ", so what it defines is not checked here; upload it with the package to resolve it."
	}
	tip := "Open " + l.ResolvedName + " of this package"
	if l.How == "file-name" {
		tip += " (the path points outside the package folder, so it was matched by its file name)"
	}
	return tip + "."
}

// linkLibraries marks the :LIBRARY=/:INCLUDE= paths of the shown file with
// where the index resolved them, in the code and in the outline.
func (u *UI) linkLibraries(r *http.Request, d *sourceData, a *analysis, src []byte) {
	if u.Index == nil || d.Version.ParserVersion == "" || !a.parsed {
		return
	}
	uses, err := u.Index.VersionLibraries(r.Context(), d.Version.ID)
	if err != nil {
		u.Log.WarnContext(r.Context(), "loading library resolution failed; paths are not linked", "file", d.File.ID, "err", err)
		return
	}
	byLine := map[int]*libRef{}
	for _, l := range uses {
		if l.FileID != d.File.ID {
			continue
		}
		ref := &libRef{tip: libTip(l), missing: l.ResolvedFileID == ""}
		if !ref.missing {
			ref.href = "/packages/" + d.Pkg.ID + "/files/" + l.ResolvedFileID
		}
		byLine[l.Line] = ref
	}
	if len(byLine) == 0 {
		return
	}
	line, pos := 1, 0
	for i := range a.spans {
		s := &a.spans[i]
		if s.class != "path" {
			continue
		}
		if s.off > pos {
			line += strings.Count(string(src[pos:s.off]), "\n")
			pos = s.off
		}
		if ref, ok := byLine[line]; ok {
			s.lib = ref
		}
	}
	for gi := range a.outline {
		g := &a.outline[gi]
		if g.Kind != "library" {
			continue
		}
		for ii := range g.Items {
			it := &g.Items[ii]
			if ref, ok := byLine[it.Line]; ok {
				it.Href, it.Missing, it.Tip = ref.href, ref.missing, ref.tip
			}
		}
	}
}

var shaRE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// libHref is the Libraries page of a file name, optionally of one content.
func libHref(name, sha string) string {
	h := "/libraries/" + url.PathEscape(name)
	if sha != "" {
		h += "?sha=" + url.QueryEscape(strings.ToLower(sha)) + "#packages"
	}
	return h
}

type librariesData struct {
	Names []store.LibraryName
}

const maxLibraryNames = 500

// libraries lists the library file names in use.
func (u *UI) libraries(w http.ResponseWriter, r *http.Request) {
	if u.Index == nil {
		u.renderError(w, r, http.StatusNotFound, "Libraries are not available",
			"Comparing library files across packages needs the package index, which this server does not have.", "")
		return
	}
	if n := strings.TrimSpace(r.URL.Query().Get("name")); n != "" {
		http.Redirect(w, r, libHref(pathBase(n), ""), http.StatusSeeOther)
		return
	}
	names, err := u.Index.LibraryNames(r.Context(), maxLibraryNames)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "libraries", u.newPage(r, "Libraries", "libraries", librariesData{Names: names}))
}

type libraryData struct {
	Name     string
	Variants []index.LibraryVariant
	Packages int // packages having a file of this name (latest versions)
	// The chosen content and the packages whose latest version includes it.
	SHA      string
	Selected *index.LibraryVariant
	Users    []index.PackageRef
}

// library shows the distinct contents of one library file name and, for
// one content, the packages that include exactly it.
func (u *UI) library(w http.ResponseWriter, r *http.Request) {
	if u.Index == nil {
		u.renderError(w, r, http.StatusNotFound, "Libraries are not available",
			"Comparing library files across packages needs the package index, which this server does not have.", "")
		return
	}
	name := strings.TrimSpace(chi.URLParam(r, "name"))
	if name == "" || len(name) > 255 {
		u.notFound(w, r, "There is no library with this name.", "")
		return
	}
	ctx := r.Context()
	d := libraryData{Name: name}
	var err error
	if d.Variants, err = u.Index.LibraryVariants(ctx, name); err != nil {
		u.fail(w, r, err)
		return
	}
	for _, v := range d.Variants {
		d.Packages += v.Packages
	}
	sha := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("sha")))
	if sha != "" && !shaRE.MatchString(sha) {
		u.renderError(w, r, http.StatusBadRequest, "That is not a SHA-256",
			"A library content is named by its SHA-256: 64 hexadecimal digits.", "sha="+sha)
		return
	}
	if sha == "" && len(d.Variants) == 1 {
		sha = d.Variants[0].SHA256
	}
	if sha != "" {
		d.SHA = sha
		for i := range d.Variants {
			if d.Variants[i].SHA256 == sha {
				d.Selected = &d.Variants[i]
			}
		}
		if d.Users, err = u.Index.LibraryPackages(ctx, sha); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	u.render(w, r, http.StatusOK, "library", u.newPage(r, name+" · Libraries", "libraries", d))
}

// libUse is the package page's link from a library file to the
// Libraries page.
type libUse struct {
	N                  int
	Href, Label, Title string
}

// libUsage says, by file id, how many packages (latest versions) have
// exactly this library file, for the package page's "used by N packages"
// link. Files that are not libraries are absent.
func (u *UI) libUsage(r *http.Request, files []catalog.File) map[string]*libUse {
	out := map[string]*libUse{}
	if u.Index == nil {
		return out
	}
	for _, f := range files {
		if !strings.EqualFold(f.Extension, "LIB") {
			continue
		}
		vs, err := u.Index.LibraryVariants(r.Context(), f.Filename)
		if err != nil {
			if !errors.Is(err, r.Context().Err()) {
				u.Log.WarnContext(r.Context(), "counting library use failed", "file", f.Filename, "err", err)
			}
			continue
		}
		n := 0
		for _, v := range vs {
			if v.SHA256 == f.SHA256 {
				n = v.Packages
			}
		}
		lu := &libUse{N: n, Href: libHref(f.Filename, f.SHA256),
			Label: "used by " + plural(n, "package", "packages"),
			Title: "The packages whose latest version has exactly this " + f.Filename + ", and the other variants of " + f.Filename}
		if n == 0 {
			lu.Label = plural(len(vs), "other variant", "other variants")
			lu.Title = "No package’s latest version has this content; see the variants of " + f.Filename + " in use"
		}
		out[f.ID] = lu
	}
	return out
}
