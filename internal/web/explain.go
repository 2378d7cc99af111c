package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/compare"
	"github.com/veripost/veripost/internal/copilot"
	"github.com/veripost/veripost/internal/explain"
	"github.com/veripost/veripost/internal/loader"
	"github.com/veripost/veripost/internal/upg"
)

// explainRoutes adds the explanation pages: a package's overview, and a
// section, attribute or line range of a file. With ?partial=1 they answer
// an HTML fragment that app.js shows in the source view's panel or on the
// package page.
func (u *UI) explainRoutes(r chi.Router) {
	r.Get("/packages/{id}/overview", u.overviewPage)
	r.Get("/packages/{id}/files/{file_id}/explain", u.explainPage)
}

// copilotSlot is the copilot part of an explanation asked at the API path
// askPath.
func (u *UI) copilotSlot(askPath string) explain.Copilot {
	return copilot.Slot(u.Copilot, u.APIPrefix+askPath)
}

// explainView is what the explanation templates get.
type explainView struct {
	Pkg     catalog.Package
	Version catalog.Version
	File    catalog.File // the file the explanation was asked from (empty for the overview)
	E       *explain.Explanation
	Copilot explain.Copilot
	Older   bool // the version is not the package's latest
	// CanAsk: the viewer may ask the copilot (anonymous readers may not).
	CanAsk bool
	// Change is set for the explanation of a comparison: citations and
	// links go to the package of their side.
	Change      *compare.Comparison
	CompareHref string // the compare page of Change
}

// FreeQuestion reports whether the copilot takes a free question here (the
// package overview).
func (d explainView) FreeQuestion() bool { return d.E.Kind == explain.KindPackage }

// pkgOf is the package a citation or link of side ("a", "b" or "") is in.
func (d explainView) pkgOf(side string) string {
	if d.Change != nil {
		if s := d.Change.Side(side); s != nil {
			return s.PackageID
		}
		return ""
	}
	return d.Pkg.ID
}

// chips splits a sentence's citations into those shown and those behind a
// "+N" toggle.
type chips struct {
	Shown, More []explain.Cite
}

const shownCites = 4

func (d explainView) Chips(s explain.Sentence) chips {
	if len(s.Cites) <= shownCites+1 {
		return chips{Shown: s.Cites}
	}
	return chips{Shown: s.Cites[:shownCites], More: s.Cites[shownCites:]}
}

// CiteHref is a citation's place in the source view.
func (d explainView) CiteHref(c explain.Cite) string { return loader.SourceURL(d.pkgOf(c.Side), c) }

// CiteLabel names a citation briefly: lines of the file the explanation
// was asked from, FILE:lines of others.
func (d explainView) CiteLabel(c explain.Cite) string {
	lines := strconv.Itoa(c.Start)
	if c.End > c.Start {
		lines += "–" + strconv.Itoa(c.End)
	}
	if d.File.Filename != "" && c.File == d.File.Filename {
		if c.End > c.Start {
			return "lines " + lines
		}
		return "line " + lines
	}
	if c.Side != "" {
		return strings.ToUpper(c.Side) + " " + shortName(c.File) + ":" + lines
	}
	return shortName(c.File) + ":" + lines
}

// shortName keeps a chip short: a long file name becomes its start, an
// ellipsis and its extension (the chip's title has the whole name).
func shortName(name string) string {
	const keep = 12
	if len([]rune(name)) <= keep+6 {
		return name
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 6 {
		ext = name[i:]
	}
	r := []rune(strings.TrimSuffix(name, ext))
	return strings.TrimSpace(string(r[:min(keep, len(r))])) + "…" + ext
}

// Depth is the CSS nesting class of a sentence (d0 … d6).
func (d explainView) Depth(s explain.Sentence) int { return min(s.Depth, 6) }

// Where says where the subject is.
func (d explainView) Where() string {
	e := d.E
	if e.File == "" || e.Kind == explain.KindPackage {
		return ""
	}
	if e.End > e.Start {
		return fmt.Sprintf("%s, lines %d–%d", e.File, e.Start, e.End)
	}
	return fmt.Sprintf("%s, line %d", e.File, e.Start)
}

// SubjectHref is the source view of the explained subject.
func (d explainView) SubjectHref() string {
	return loader.SourceURL(d.Pkg.ID, explain.Cite{File: d.E.File, Start: max(d.E.Start, 1), End: d.E.End, FileID: d.E.FileID})
}

// SentenceHTML renders a sentence: prose escaped, code spans as <code>, and
// the names the sentence links to as links to their own explanation.
func (d explainView) SentenceHTML(s explain.Sentence) template.HTML {
	var b strings.Builder
	for _, seg := range explain.Segments(s.Text) {
		if !seg.Code {
			b.WriteString(template.HTMLEscapeString(seg.Text))
			continue
		}
		code := "<code>" + template.HTMLEscapeString(seg.Text) + "</code>"
		if href := d.nameHref(s, seg.Text); href != "" {
			b.WriteString(`<a class="xl" href="` + template.HTMLEscapeString(href) + `" data-explain-link>` + code + `</a>`)
			continue
		}
		b.WriteString(code)
	}
	return template.HTML(b.String())
}

// nameHref is the explanation page of a name the sentence links, or "".
func (d explainView) nameHref(s explain.Sentence, name string) string {
	key := upg.CanonicalName(name)
	for _, l := range s.Links {
		if upg.CanonicalName(l.Name) != key || l.FileID == "" {
			continue
		}
		q := url.Values{}
		if l.Kind == "section" {
			q.Set("section", l.Name)
		} else {
			q.Set("attribute", l.Name)
		}
		return "/packages/" + url.PathEscape(d.pkgOf(l.Side)) + "/files/" + url.PathEscape(l.FileID) + "/explain?" + q.Encode()
	}
	return ""
}

// explainError is the fragment shown in a panel when an explanation
// cannot be made.
type explainError struct {
	Message string
	Detail  string
}

// explainFail answers an error: a fragment for the panel, or the error page.
func (u *UI) explainFail(w http.ResponseWriter, r *http.Request, partial bool, err error) {
	err = loader.Problem(err)
	if !partial {
		u.fail(w, r, err)
		return
	}
	status, msg, detail := http.StatusInternalServerError, "The explanation could not be made because of a problem on the server. Try again; if it keeps happening, ask your administrator to check the server log.", ""
	if errors.Is(err, catalog.ErrNotFound) {
		status, msg = http.StatusNotFound, "This package or file does not exist. It may have been deleted."
	} else if e, ok := apperror.As(err); ok && (e.Status < 500 || e.Status == http.StatusServiceUnavailable) {
		status, msg, detail = e.Status, e.Message, e.Detail
	} else {
		u.Log.ErrorContext(r.Context(), "explanation failed", "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	u.renderFragment(w, r, "explain", "explain-error", explainError{Message: msg, Detail: detail})
}

func (u *UI) noExplainer(w http.ResponseWriter, r *http.Request) bool {
	if u.Explain != nil {
		return false
	}
	u.renderError(w, r, http.StatusNotFound, "Explanations are not available",
		"This server was started without the explainer, so it cannot explain packages.", "")
	return true
}

// explainPage explains a section (?section=), an attribute or variable
// (?attribute=) or lines (?from=&to=) of a file.
func (u *UI) explainPage(w http.ResponseWriter, r *http.Request) {
	if u.noExplainer(w, r) {
		return
	}
	q := r.URL.Query()
	partial := q.Get("partial") == "1"
	id, fileID := chi.URLParam(r, "id"), chi.URLParam(r, "file_id")
	ctx := r.Context()
	p, err := u.Store.GetPackage(ctx, id)
	if err != nil {
		u.explainFail(w, r, partial, err)
		return
	}
	f, err := u.Store.GetFile(ctx, id, fileID)
	if err != nil {
		u.explainFail(w, r, partial, err)
		return
	}
	ver, err := u.Store.GetVersion(ctx, f.VersionID)
	if err != nil {
		u.explainFail(w, r, partial, err)
		return
	}
	v, err := u.Explain.Load(ctx, ver)
	if err != nil {
		u.explainFail(w, r, partial, err)
		return
	}
	var e *explain.Explanation
	section, attr := strings.TrimSpace(q.Get("section")), strings.TrimSpace(q.Get("attribute"))
	switch {
	case len(section) > 200 || len(attr) > 200:
		err = apperror.New(http.StatusBadRequest, apperror.CodeBadRequest, "That name is too long to be a UPG name.", "")
	case section != "":
		e, err = v.Package.Section(f.Filename, section)
	case attr != "":
		e, err = v.Package.Attribute(attr)
	case q.Get("from") != "":
		from, ferr := strconv.Atoi(q.Get("from"))
		to, terr := strconv.Atoi(q.Get("to"))
		if q.Get("to") == "" {
			to, terr = from, nil
		}
		if ferr != nil || terr != nil {
			err = apperror.New(http.StatusBadRequest, apperror.CodeBadRequest, "Give the lines to explain as numbers: ?from=10&to=20.", "")
			break
		}
		if v.Package.File(f.Filename) == nil {
			err = apperror.New(http.StatusUnprocessableEntity, apperror.CodeValidation, f.Filename+" is not UPG source, so its lines cannot be explained.", "")
			break
		}
		e, err = v.Package.Lines(f.Filename, from, to)
	default:
		err = apperror.New(http.StatusBadRequest, apperror.CodeBadRequest,
			"Say what to explain: a section (?section=NAME), an attribute (?attribute=NAME) or lines (?from=10&to=20).", "")
	}
	if err != nil {
		u.explainFail(w, r, partial, err)
		return
	}
	e.SetFileIDs(v.FileID)
	d := explainView{Pkg: p, Version: v.Version, File: f, E: e, Copilot: u.copilotSlot(loader.AskPath(p.ID, v.Version.Number, e)),
		Older: v.Version.Number != p.LatestVersion, CanAsk: auth.ActorFrom(ctx).SignedIn()}
	if partial {
		u.renderFragment(w, r, "explain", "explain-panel", d)
		return
	}
	u.render(w, r, http.StatusOK, "explain", u.newPage(r, e.Title+" · "+p.Name, "packages", d))
}

// overviewPage explains a whole package (its latest version, or ?version=N).
func (u *UI) overviewPage(w http.ResponseWriter, r *http.Request) {
	if u.noExplainer(w, r) {
		return
	}
	q := r.URL.Query()
	partial := q.Get("partial") == "1"
	id := chi.URLParam(r, "id")
	ctx := r.Context()
	p, err := u.Store.GetPackage(ctx, id)
	if err != nil {
		u.explainFail(w, r, partial, err)
		return
	}
	want := p.LatestVersion
	if s := q.Get("version"); s != "" {
		if want, err = strconv.Atoi(s); err != nil {
			want = -1
		}
	}
	ver, err := u.Store.VersionByNumber(ctx, id, want)
	if err != nil && !errors.Is(err, catalog.ErrNotFound) {
		u.explainFail(w, r, partial, err)
		return
	}
	if ver.ID == "" {
		u.explainFail(w, r, partial, apperror.New(http.StatusNotFound, apperror.CodeNotFound,
			fmt.Sprintf("%s has no version %s. The versions table on the package page lists them all.", p.Name, q.Get("version")), ""))
		return
	}
	v, err := u.Explain.Load(ctx, ver)
	if err != nil {
		u.explainFail(w, r, partial, err)
		return
	}
	e := v.Package.Overview()
	e.SetFileIDs(v.FileID)
	d := explainView{Pkg: p, Version: ver, E: e, Copilot: u.copilotSlot(loader.AskPath(p.ID, ver.Number, e)),
		Older: ver.Number != p.LatestVersion, CanAsk: auth.ActorFrom(ctx).SignedIn()}
	if partial {
		u.renderFragment(w, r, "explain", "explain-panel", d)
		return
	}
	u.render(w, r, http.StatusOK, "explain", u.newPage(r, "Overview · "+p.Name, "packages", d))
}

// changePage explains a comparison in plain words (the compare page loads
// it with ?partial=1 when "Explain this change" is pressed).
func (u *UI) changePage(w http.ResponseWriter, r *http.Request) {
	partial := r.URL.Query().Get("partial") == "1"
	if u.Compare == nil {
		u.explainFail(w, r, partial, apperror.New(http.StatusNotFound, apperror.CodeNotFound, "Comparing is not available on this server.", ""))
		return
	}
	cq, err := u.parseCompare(r)
	if err != nil {
		u.explainFail(w, r, partial, apperror.New(http.StatusBadRequest, apperror.CodeBadRequest, "That comparison cannot be made: "+err.Error()+".", ""))
		return
	}
	c, err := u.Compare.Compare(r.Context(), cq.a, cq.b, cq.opt)
	if err != nil {
		u.explainFail(w, r, partial, err)
		return
	}
	e := c.Explain()
	sides := url.Values{}
	c.A.Ref().SetParams(sides, "a")
	c.B.Ref().SetParams(sides, "b")
	d := explainView{E: e, Change: c, Copilot: u.copilotSlot("/compare/ask?" + sides.Encode()),
		CanAsk: auth.ActorFrom(r.Context()).SignedIn(), CompareHref: pageURL(cq, c, nil)}
	if partial {
		u.renderFragment(w, r, "explain", "explain-panel", d)
		return
	}
	u.render(w, r, http.StatusOK, "explain", u.newPage(r, e.Title, "packages", d))
}
