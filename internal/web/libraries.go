package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/veripost/veripost/internal/analysis"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
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
func libTip(l analysis.Library) string {
	base := pathBase(l.Path)
	if l.How == "registry" {
		return "Not in this package: resolved from the registry: " + l.Registry + ". Open the variants of " + base + " VeriPost holds."
	}
	if l.Resolved == "" {
		return "Not in this package. VeriPost resolves a library path by its file name (" + base +
			") among the package’s files, ignoring the folders in the path, because a package is stored as one flat folder. " +
			"No file of this package is called " + base + ", so what it defines is not checked here; upload it with the package, or have an administrator register a variant in the library registry. Open the variants of " + base + " VeriPost holds."
	}
	tip := "Open " + l.Resolved + " of this package"
	if l.How == "file-name" {
		tip += " (the path points outside the package folder, so it was matched by its file name)"
	}
	return tip + "."
}

// linkLibraries marks the :LIBRARY=/:INCLUDE= paths of the shown file with
// where the index resolved them, in the code and in the outline.
func (u *UI) linkLibraries(r *http.Request, d *sourceData, a *view, src []byte) {
	if d.Version.ParserVersion == "" || !a.parsed {
		return
	}
	res, err := u.Index.Result(r.Context(), d.Version.ID)
	if err != nil {
		if !errors.Is(err, catalog.ErrNotFound) {
			u.Log.WarnContext(r.Context(), "loading library resolution failed; paths are not linked", "file", d.File.ID, "err", err)
		}
		return
	}
	idByName := map[string]string{}
	for _, f := range d.Files {
		idByName[f.Filename] = f.ID
	}
	byLine := map[int]*libRef{}
	for _, l := range res.Libraries {
		if l.From != d.File.Filename {
			continue
		}
		ref := &libRef{tip: libTip(l), missing: l.Resolved == "" || idByName[l.Resolved] == ""}
		switch {
		case !ref.missing:
			ref.href = "/packages/" + d.Pkg.ID + "/files/" + idByName[l.Resolved]
		case l.How == "registry":
			ref.href, ref.missing = libHref(pathBase(l.Path), l.ResolvedSHA256), false
		default:
			ref.href = libHref(pathBase(l.Path), "")
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
	Names   []index.LibraryName
	Filter  string
	NextURL string // the next page of names, when there is one
	First   bool   // this is the first page
}

const libraryNamesPerPage = 200

// libraries lists the library file names in use, most used first, a page
// at a time.
func (u *UI) libraries(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	if n := strings.TrimSpace(qv.Get("name")); n != "" {
		http.Redirect(w, r, libHref(pathBase(n), ""), http.StatusSeeOther)
		return
	}
	d := librariesData{Filter: strings.TrimSpace(qv.Get("q")), First: qv.Get("after") == ""}
	if len(d.Filter) > 200 {
		d.Filter = d.Filter[:200]
	}
	page, err := u.Index.LibraryNames(r.Context(), d.Filter, libraryNamesPerPage, qv.Get("after"))
	if errors.Is(err, catalog.ErrBadCursor) {
		http.Redirect(w, r, "/libraries", http.StatusSeeOther)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Names = page.Items
	if page.NextCursor != "" {
		v := url.Values{"after": {page.NextCursor}}
		if d.Filter != "" {
			v.Set("q", d.Filter)
		}
		d.NextURL = "/libraries?" + v.Encode()
	}
	u.render(w, r, http.StatusOK, "libraries", u.newPage(r, "Libraries", "libraries", d))
}

type libraryData struct {
	Name     string
	Variants []index.LibraryVariant
	Packages int // packages having a file of this name (latest versions)
	// The chosen content and the packages whose latest version includes it.
	SHA       string
	Selected  *index.LibraryVariant
	Users     []index.PackageRef
	MoreUsers bool // more packages than listed (the API pages through them)
}

const (
	libraryVariantsShown = 500
	libraryUsersShown    = 200
)

// library shows the distinct contents of one library file name and, for
// one content, the packages that include exactly it.
func (u *UI) library(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(chi.URLParam(r, "name"))
	if name == "" || len(name) > 255 {
		u.notFound(w, r, "There is no library with this name.", "")
		return
	}
	ctx := r.Context()
	d := libraryData{Name: name}
	vp, err := u.Index.LibraryVariants(ctx, name, libraryVariantsShown, "")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Variants = vp.Items
	if len(d.Variants) == 0 {
		u.notFound(w, r, "No package holds a library called "+name+". The Libraries page lists those in use.", "library "+name)
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
		up, err := u.Index.LibraryPackages(ctx, sha, libraryUsersShown, "")
		if err != nil {
			u.fail(w, r, err)
			return
		}
		d.Users, d.MoreUsers = up.Items, up.NextCursor != ""
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
	for _, f := range files {
		if !strings.EqualFold(f.Extension, "LIB") {
			continue
		}
		vp, err := u.Index.LibraryVariants(r.Context(), f.Filename, libraryVariantsShown, "")
		vs := vp.Items
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
