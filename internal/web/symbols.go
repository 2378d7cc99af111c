package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/upg"
)

// fileRefs is the occurrences of a symbol in one file.
type fileRefs struct {
	FileID   string
	Filename string
	Occ      []index.SymbolOccurrence
}

type symbolData struct {
	Name      string
	Canonical string
	Kind      string // attribute, section, define … (from the index)
	Catalog   []upg.CatalogEntry
	// The package the reader comes from (the source view's panel).
	PackageID   string
	PackageName string
	FileID      string
	Definitions []index.SymbolOccurrence
	References  []fileRefs
	RefCount    int
	// Other packages using the symbol (latest versions).
	Others     []index.SymbolPackage
	OtherTotal int
	// The symbol page: every package, a page at a time (cursor links).
	Packages          []index.SymbolPackage
	Total             int
	TotalExact        bool
	FirstURL, NextURL string
	// Lines are the texts of the occurrences' lines.
	Lines lineTexts
	// MoreRefs counts the uses in this package listed without their line
	// (beyond panelLinesShown).
	MoreRefs int
	// Registry names the registry variant the definitions were found in
	// when the package does not define the name itself but resolves a
	// library to the stock library registry; regHref is where each such
	// content is shown (a package file holding it, or its library page).
	Registry string
	regHref  map[string]string
}

// panelLinesShown bounds the uses the symbol panel shows with their line's
// text; the rest are listed by line number.
const panelLinesShown = 60

// symbolHref is where a symbol's occurrence is shown: the same file by
// anchor, another file by address (opening the panel there too).
func (d symbolData) Href(o index.SymbolOccurrence) string {
	if o.FileID == "" && d.regHref[o.SHA256] != "" {
		h := d.regHref[o.SHA256]
		if strings.HasPrefix(h, "/packages/") {
			h += "?sym=" + url.QueryEscape(d.Name) + "#L" + strconv.Itoa(o.Line)
		}
		return h
	}
	if o.FileID == d.FileID {
		return "#L" + strconv.Itoa(o.Line)
	}
	return d.fileHref(d.PackageID, o.FileID, o.Line)
}

func (d symbolData) fileHref(pkg, file string, line int) string {
	return "/packages/" + pkg + "/files/" + file + "?sym=" + url.QueryEscape(d.Name) + "#L" + strconv.Itoa(line)
}

// OccHref links an occurrence in another package.
func (d symbolData) OccHref(p index.SymbolPackage, o index.SymbolOccurrence) string {
	return d.fileHref(p.PackageID, o.FileID, o.Line)
}

// FirstDef is where "go to definition" leads, "" when there is none.
func (d symbolData) FirstDef() string {
	if len(d.Definitions) == 0 {
		return ""
	}
	return d.Href(d.Definitions[0])
}

const symbolPageSize = 20

// symbolPanel renders the source view's symbol panel (an HTML fragment
// fetched by app.js): where the symbol is defined and used in this
// package, and which other packages use it.
func (u *UI) symbolPanel(w http.ResponseWriter, r *http.Request) {
	id, fileID := chi.URLParam(r, "id"), chi.URLParam(r, "file_id")
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	if name == "" || len(name) > 200 {
		u.renderError(w, r, http.StatusBadRequest, "No symbol", "Say which name to look up.", "")
		return
	}
	ctx := r.Context()
	p, err := u.Store.GetPackage(ctx, id)
	if err == nil {
		var f catalog.File
		if f, err = u.Store.GetFile(ctx, id, fileID); err == nil {
			d := symbolData{Name: name, Canonical: upg.CanonicalName(name), Catalog: upg.Lookup(name),
				PackageID: p.ID, PackageName: p.Name, FileID: f.ID}
			if err = u.fillPackageSymbol(r, &d, f.VersionID); err == nil {
				u.renderFragment(w, r, "symbol", "symbol-panel", d)
				return
			}
		}
	}
	if errors.Is(err, catalog.ErrNotFound) {
		u.notFound(w, r, "There is no such package or file.", "")
		return
	}
	u.fail(w, r, err)
}

func (u *UI) fillPackageSymbol(r *http.Request, d *symbolData, versionID string) error {
	occ, err := u.Index.VersionSymbol(r.Context(), versionID, d.Canonical)
	if err != nil {
		return err
	}
	byFile := map[string]int{}
	for _, o := range occ {
		if d.Kind == "" {
			d.Kind = o.Kind
		}
		if o.Role == "definition" {
			d.Definitions = append(d.Definitions, o)
			continue
		}
		d.RefCount++
		i, ok := byFile[o.FileID]
		if !ok {
			i = len(d.References)
			byFile[o.FileID] = i
			d.References = append(d.References, fileRefs{FileID: o.FileID, Filename: o.Filename})
		}
		d.References[i].Occ = append(d.References[i].Occ, o)
	}
	if len(d.Definitions) == 0 {
		if err := u.registryDefinitions(r, d, versionID); err != nil {
			u.Log.WarnContext(r.Context(), "looking up the name in the registry's libraries failed", "name", d.Canonical, "err", err)
		}
	}
	shown := append([]index.SymbolOccurrence(nil), d.Definitions...)
	for _, fr := range d.References {
		for _, o := range fr.Occ {
			if len(shown) < panelLinesShown+len(d.Definitions) {
				shown = append(shown, o)
			} else {
				d.MoreRefs++
			}
		}
	}
	d.Lines = u.readLines(r, shown)
	page, err := u.Index.SymbolUsage(r.Context(), d.Canonical, symbolPageSize, "")
	if err != nil {
		return err
	}
	d.OtherTotal = page.Total
	for _, sp := range page.Packages {
		if sp.PackageID == d.PackageID {
			d.OtherTotal--
			continue
		}
		d.Others = append(d.Others, sp)
	}
	return nil
}

// registryDefinitions finds a name's definitions in the stock libraries the
// registry resolved the version to (the package does not ship them), so
// go-to-definition leads there: to a package file with that content, or
// else to the library's page.
func (u *UI) registryDefinitions(r *http.Request, d *symbolData, versionID string) error {
	res, err := u.Index.Result(r.Context(), versionID)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, l := range res.Libraries {
		if l.How != "registry" || l.ResolvedSHA256 == "" {
			continue
		}
		occ, err := u.Index.ContentSymbol(r.Context(), l.ResolvedSHA256, d.Canonical)
		if err != nil {
			return err
		}
		name := pathBase(l.Path)
		for _, o := range occ {
			if o.Role != "definition" {
				continue
			}
			if d.regHref == nil {
				d.regHref = map[string]string{}
			}
			if _, ok := d.regHref[l.ResolvedSHA256]; !ok {
				d.regHref[l.ResolvedSHA256] = libHref(name, l.ResolvedSHA256)
				if pp, err := u.Index.LibraryPackages(r.Context(), l.ResolvedSHA256, 1, ""); err == nil && len(pp.Items) > 0 {
					d.regHref[l.ResolvedSHA256] = "/packages/" + pp.Items[0].PackageID + "/files/" + pp.Items[0].FileID
				}
			}
			d.Registry = l.Registry
			if d.Kind == "" {
				d.Kind = o.Kind
			}
			d.Definitions = append(d.Definitions, index.SymbolOccurrence{Filename: name, SHA256: l.ResolvedSHA256, Occurrence: o})
		}
	}
	return nil
}

// symbolPage lists every package that defines or uses a name.
func (u *UI) symbolPage(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(chi.URLParam(r, "name"))
	if name == "" || len(name) > 200 {
		u.notFound(w, r, "There is no symbol with this name.", "")
		return
	}
	after := r.URL.Query().Get("after")
	d := symbolData{Name: name, Canonical: upg.CanonicalName(name), Catalog: upg.Lookup(name)}
	page, err := u.Index.SymbolUsage(r.Context(), d.Canonical, symbolPageSize, after)
	if errors.Is(err, catalog.ErrBadCursor) {
		http.Redirect(w, r, "/symbols/"+url.PathEscape(name), http.StatusSeeOther)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if len(page.Packages) == 0 && after == "" && len(d.Catalog) == 0 {
		u.notFound(w, r, "No package defines or uses "+name+", and the language catalogue does not know it. Check the spelling.", "symbol "+name)
		return
	}
	d.Packages, d.Total, d.TotalExact = page.Packages, page.Total, page.TotalExact
	var occ []index.SymbolOccurrence
	for _, p := range d.Packages {
		for _, o := range p.Occurrences {
			if d.Kind == "" {
				d.Kind = o.Kind
			}
		}
		occ = append(occ, p.Occurrences...)
	}
	d.Lines = u.readLines(r, occ)
	link := "/symbols/" + url.PathEscape(name)
	if after != "" {
		d.FirstURL = link
	}
	if page.NextCursor != "" {
		d.NextURL = link + "?after=" + url.QueryEscape(page.NextCursor)
	}
	u.render(w, r, http.StatusOK, "symbol", u.newPage(r, name, "symbols", d))
}

// renderFragment executes one named template of a page's set, without the
// layout (for HTML loaded into a page by app.js).
func (u *UI) renderFragment(w http.ResponseWriter, r *http.Request, page, name string, data any) {
	var buf bytes.Buffer
	if err := u.pages[page].ExecuteTemplate(&buf, name, data); err != nil {
		u.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = buf.WriteTo(w)
}
