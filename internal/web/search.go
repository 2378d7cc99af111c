package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/veripost/veripost/internal/apperror"
	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/search"
)

// Search answers searches and finds alike posts and sections
// (*search.Searcher implements it). It is optional: without it the pages
// have no search box and no "alike" lists.
type Search interface {
	Search(ctx context.Context, req search.Request) (*search.Result, error)
	SimilarPackages(ctx context.Context, versionID string, limit int, allVersions bool) ([]search.SimilarPackage, error)
	SimilarSectionsOf(ctx context.Context, id string, limit int) (*search.SimilarSections, error)
	NearDuplicateOf(ctx context.Context, versionID string) (*search.NearDuplicate, error)
}

// searchParams are the search page's query parameters, the same names as
// GET /api/v1/search takes.
var searchParams = []string{"q", "package", "machine", "controller", "platform", "kind", "file", "section", "versions", "mode"}

type searchData struct {
	Params  url.Values // the request's search parameters (for links)
	Q       string
	Result  *search.Result
	Err     *apperror.Error
	Kinds   []facetLink
	Facets  []facetGroup
	Filters []activeFilter
	NextURL string
	// FirstURL is set on a later page.
	FirstURL string
	Examples []example
}

type facetGroup struct {
	Title string
	Links []facetLink
}

type facetLink struct {
	Label    string
	Count    int
	URL      string
	Selected bool
}

type activeFilter struct {
	Label     string
	RemoveURL string
}

type example struct{ Query, Means string }

// examples teach the query language on the empty page.
var examples = []example{
	{"SPINDLE_DIR", "the identifier SPINDLE_DIR: where it is defined, set and used"},
	{"spindle", "the word or name SPINDLE, and names containing it (SPINDLE_DIR) ranked lower"},
	{"COOL*", "names and words starting with COOL"},
	{"M06", "output words: <M:06> writes M06"},
	{"G43.4", "a literal piece of a line or of what it outputs"},
	{`"TOOL CHANGE"`, "a quoted phrase, blanks included"},
	{"COOLANT_TYPE section:calc", "only in calculation sections"},
	{"which posts handle a 4th axis", "a question: words and the structural embedding, fused"},
}

// searchURL is the search page address for params.
func searchURL(params url.Values) string {
	v := url.Values{}
	for _, k := range append(searchParams, "cursor") {
		if x := strings.TrimSpace(params.Get(k)); x != "" {
			v.Set(k, x)
		}
	}
	if len(v) == 0 {
		return "/search"
	}
	return "/search?" + v.Encode()
}

// With returns the address with key set to value ("" removes it), on the
// first page (unless key is the cursor).
func (d searchData) With(key, value string) string {
	v := url.Values{}
	for k, vs := range d.Params {
		v[k] = vs
	}
	v.Del("cursor")
	if value == "" {
		v.Del(key)
	} else {
		v.Set(key, value)
	}
	return searchURL(v)
}

func (u *UI) searchPage(w http.ResponseWriter, r *http.Request) {
	if u.Search == nil {
		u.renderError(w, r, http.StatusNotFound, "Search is not available", "This server has no search index.", "")
		return
	}
	qv := r.URL.Query()
	d := searchData{Params: url.Values{}, Q: strings.TrimSpace(qv.Get("q")), Examples: examples}
	for _, k := range append(searchParams, "cursor") {
		if v := strings.TrimSpace(qv.Get(k)); v != "" {
			d.Params.Set(k, v)
		}
	}
	title := "Search"
	status := http.StatusOK
	if d.Q != "" {
		title = d.Q + " · Search"
		mode := search.Mode(qv.Get("mode"))
		if mode == "auto" {
			mode = search.ModeAuto
		}
		res, err := u.Search.Search(r.Context(), search.Request{
			Query: d.Q, Mode: mode, Cursor: qv.Get("cursor"), Limit: 20, Context: 2, HitsPerFile: 5,
			Filter: search.Filter{Package: qv.Get("package"), Machine: qv.Get("machine"), Controller: qv.Get("controller"),
				Platform: qv.Get("platform"), FileKind: qv.Get("kind"), File: qv.Get("file"), Section: qv.Get("section"),
				AllVersions: qv.Get("versions") == "all"},
		})
		if err != nil {
			e, ok := apperror.As(err)
			if !ok || e.Status >= 500 {
				u.fail(w, r, err)
				return
			}
			d.Err, status = e, e.Status
		} else {
			d.Result = res
			d.fill()
		}
	}
	u.render(w, r, status, "search", u.newPage(r, title, "search", d))
}

// fill builds the facet links, the active filters and the page links.
func (d *searchData) fill() {
	res := d.Result
	group := func(title, key string, facets []search.Facet, label func(string) string) {
		if len(facets) == 0 {
			return
		}
		g := facetGroup{Title: title}
		cur := d.Params.Get(key)
		for _, f := range facets {
			value := f.Value
			if value == "" {
				value = search.NotSet
			}
			sel := strings.EqualFold(cur, value)
			link := facetLink{Label: label(f.Value), Count: f.Count, Selected: sel, URL: d.With(key, value)}
			if sel {
				link.URL = d.With(key, "")
			}
			g.Links = append(g.Links, link)
		}
		d.Facets = append(d.Facets, g)
	}
	notSet := func(v string) string {
		if v == "" {
			return "(not set)"
		}
		return v
	}
	group("Section kind", "section", res.Facets.SectionKinds, func(v string) string {
		if v == "none" {
			return "outside sections"
		}
		return v
	})
	group("File kind", "kind", res.Facets.FileKinds, func(v string) string { return "." + strings.ToUpper(v) })
	group("Machine", "machine", res.Facets.Machines, notSet)
	group("Controller", "controller", res.Facets.Controllers, notSet)
	group("Platform", "platform", res.Facets.Platforms, notSet)
	// The section facet's "none" is not a filter value.
	for i := range d.Facets {
		if d.Facets[i].Title == "Section kind" {
			for j := range d.Facets[i].Links {
				if d.Facets[i].Links[j].Label == "outside sections" {
					d.Facets[i].Links[j].URL = ""
				}
			}
		}
	}
	for _, k := range []struct{ key, label string }{
		{"package", "package"}, {"machine", "machine"}, {"controller", "controller"}, {"platform", "platform"},
		{"kind", "file kind"}, {"file", "file"}, {"section", "section"}, {"versions", "versions"}, {"mode", "ranking"},
	} {
		if v := d.Params.Get(k.key); v != "" {
			d.Filters = append(d.Filters, activeFilter{Label: k.label + ": " + v, RemoveURL: d.With(k.key, "")})
		}
	}
	if res.NextCursor != "" {
		d.NextURL = d.With("cursor", res.NextCursor)
	}
	if d.Params.Get("cursor") != "" {
		d.FirstURL = d.With("cursor", "")
	}
}

// MoreURL searches one file of one package with every hit shown.
func (d searchData) MoreURL(p search.PackageResult, f search.FileResult) string {
	v := url.Values{}
	for k, vs := range d.Params {
		v[k] = vs
	}
	v.Del("cursor")
	v.Set("package", p.PackageID)
	v.Set("file", f.Filename)
	return searchURL(v)
}

// highlight renders text with the highlighted byte ranges in <mark>.
func highlight(text string, hs []search.Highlight) template.HTML {
	var b strings.Builder
	pos := 0
	for _, h := range hs {
		if h.Start < pos || h.End > len(text) || h.Start >= h.End {
			continue
		}
		b.WriteString(template.HTMLEscapeString(text[pos:h.Start]))
		b.WriteString("<mark>")
		b.WriteString(template.HTMLEscapeString(text[h.Start:h.End]))
		b.WriteString("</mark>")
		pos = h.End
	}
	b.WriteString(template.HTMLEscapeString(text[pos:]))
	return template.HTML(b.String())
}

type similarSectionsData struct {
	Result *search.SimilarSections
	// From is where the reader came from (the source view), when known.
	From string
}

// similarSectionsPage lists the sections like one section.
func (u *UI) similarSectionsPage(w http.ResponseWriter, r *http.Request) {
	if u.Search == nil {
		u.renderError(w, r, http.StatusNotFound, "Search is not available", "This server has no search index.", "")
		return
	}
	id := chi.URLParam(r, "id")
	res, err := u.Search.SimilarSectionsOf(r.Context(), id, 20)
	if err != nil {
		if e, ok := apperror.As(err); ok && e.Status == http.StatusNotFound {
			u.notFound(w, r, e.Message, "")
			return
		}
		u.fail(w, r, err)
		return
	}
	d := similarSectionsData{Result: res}
	if from := r.URL.Query().Get("from"); strings.HasPrefix(from, "/packages/") {
		d.From = from
	}
	u.render(w, r, http.StatusOK, "similar", u.newPage(r, "Sections like "+res.Section.Name, "search", d))
}

// similarPosts is the package page's "posts like this one" list (and the
// near-duplicate note), empty when search is off or has no answer yet.
type similarPosts struct {
	On        bool
	Items     []search.SimilarPackage
	Duplicate *search.NearDuplicate
	Pending   bool // the version is not indexed for search yet
}

func (u *UI) similarPosts(r *http.Request, v catalog.Version) similarPosts {
	sp := similarPosts{On: u.Search != nil}
	if !sp.On || v.Status != catalog.StatusReady {
		return sp
	}
	items, err := u.Search.SimilarPackages(r.Context(), v.ID, 5, false)
	if errors.Is(err, search.ErrNotIndexed) {
		sp.Pending = true
		return sp
	}
	if err != nil {
		u.Log.WarnContext(r.Context(), "finding similar posts failed", "version", v.ID, "err", err)
		return sp
	}
	sp.Items = items
	if sp.Duplicate, err = u.Search.NearDuplicateOf(r.Context(), v.ID); err != nil {
		u.Log.WarnContext(r.Context(), "finding a near-duplicate failed", "version", v.ID, "err", err)
	}
	return sp
}

// percent formats a 0…1 share as a whole percentage.
func percent(x float64) string { return strconv.Itoa(int(x*100+0.5)) + " %" }
