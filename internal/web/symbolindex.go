package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/veripost/veripost/internal/catalog"
	"github.com/veripost/veripost/internal/index"
	"github.com/veripost/veripost/internal/upg"
)

// symbolNamesPerPage is the size of a page of the symbol index.
const symbolNamesPerPage = 100

type symbolIndexData struct {
	Names   []index.SymbolName
	Prefix  string   // the filter as typed
	Letters []string // quick filters
	NextURL string
	First   bool
}

// symbolIndex lists the names the packages define or use, in name order,
// with how widely each is used, a page at a time, filtered by a prefix.
func (u *UI) symbolIndex(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	d := symbolIndexData{Prefix: strings.TrimSpace(qv.Get("prefix")), First: qv.Get("after") == ""}
	if len(d.Prefix) > 200 {
		d.Prefix = d.Prefix[:200]
	}
	for c := 'A'; c <= 'Z'; c++ {
		d.Letters = append(d.Letters, string(c))
	}
	page, err := u.Index.SymbolNames(r.Context(), d.Prefix, symbolNamesPerPage, qv.Get("after"))
	if errors.Is(err, catalog.ErrBadCursor) {
		http.Redirect(w, r, "/symbols", http.StatusSeeOther)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Names = page.Items
	if page.NextCursor != "" {
		v := url.Values{"after": {page.NextCursor}}
		if d.Prefix != "" {
			v.Set("prefix", d.Prefix)
		}
		d.NextURL = "/symbols?" + v.Encode()
	}
	u.render(w, r, http.StatusOK, "symbols", u.newPage(r, "Symbols", "symbols", d))
}

// CanonicalPrefix is the filter in the form names are listed in.
func (d symbolIndexData) CanonicalPrefix() string { return upg.CanonicalName(d.Prefix) }
