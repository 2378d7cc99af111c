package upg

import (
	_ "embed"
	"strings"
	"sync"
)

// names.tsv is a copy of the language catalogue's name table
// (../shared/upg/names.tsv): one row per name the language defines, with the
// columns name, kind, params, since and meaning. TestCatalogCopyIsCurrent
// checks that the copy matches the shared original when it is present.
//
//go:embed names.tsv
var namesTSV string

// stock.tsv grows the catalogue with names the vendor's own stock libraries
// (MILL.LIB, LATHE.LIB, MASTER.ATR) and posts use without defining them:
// the posting system must provide them. Same columns as names.tsv plus a
// source column ("stock library MILL.LIB", or "reviewed: why" for a row a
// person added). It is derived from the corpus by TestStockData in
// internal/upg/resolve (go test ./internal/upg/resolve -run TestStockData
// -update), which keeps reviewed rows.
//
//go:embed stock.tsv
var stockTSV string

// Catalogue kinds, as written in the kind column of names.tsv.
const (
	CatAttributeCommand = "attribute-command"
	CatHeaderCommand    = "header-command"
	CatCompilerCommand  = "compiler-command"
	CatSystemSection    = "system-section"
	CatCalcSection      = "calc-section"
	CatSystemCommand    = "system-command"
	CatQueryCommand     = "query-command"
	CatSystemConstant   = "system-constant"
	CatSystemVariable   = "system-variable"
	CatOther            = "other"
)

// CatalogEntry is one row of the language catalogue: a name the UPG language
// defines (a command, a system variable or constant, a system section …) with
// a one-line explanation. Use it to explain source to users.
type CatalogEntry struct {
	Name    string `json:"name"`             // as written in the catalogue, e.g. ":ATTRCFUNC", "CALC_START_OF_TAPE"
	Kind    string `json:"kind"`             // one of the Cat* constants
	Params  string `json:"params,omitempty"` // parameters / value domain / allowed prefixes
	Since   string `json:"since,omitempty"`  // first CAMWorks version, when known
	Meaning string `json:"meaning"`          // plain-English meaning
	// Prefix is set when the entry was found by removing a variable prefix
	// family (N_, P_, NC_ …) from the name that was looked up.
	Prefix string `json:"prefix,omitempty"`
	// Source is set on names the language reference does not list but the
	// vendor's stock files use ("seen in stock library MILL.LIB").
	Source string `json:"source,omitempty"`
}

type catalog struct {
	entries []CatalogEntry
	byKey   map[string][]int // canonical key (upper, blanks→_, no leading ':') → entries
	// quick sets used by the lexer and the resolver
	functions   map[string]bool // system-command names (upper case, exact)
	systemNames map[string]bool // canonical names of variables, constants, commands, query ids
	sysSections map[string]bool // canonical system-section names
	templates   map[string]bool // canonical names of the engine's output templates (START_OF_TAPE …)
}

var (
	catOnce sync.Once
	cat     *catalog
)

func theCatalog() *catalog {
	catOnce.Do(func() {
		cat = loadCatalog(namesTSV)
		cat.addStock(stockTSV)
	})
	return cat
}

func loadCatalog(tsv string) *catalog {
	c := &catalog{
		byKey:       make(map[string][]int, 2048),
		functions:   make(map[string]bool, 128),
		systemNames: make(map[string]bool, 1600),
		sysSections: make(map[string]bool, 200),
		templates:   make(map[string]bool, 150),
	}
	first := true
	for len(tsv) > 0 {
		line := tsv
		if i := strings.IndexByte(tsv, '\n'); i >= 0 {
			line, tsv = tsv[:i], tsv[i+1:]
		} else {
			tsv = ""
		}
		line = strings.TrimRight(line, "\r")
		if first {
			first = false
			if strings.HasPrefix(line, "name\t") {
				continue
			}
		}
		if line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		for len(cols) < 5 {
			cols = append(cols, "")
		}
		e := CatalogEntry{Name: cols[0], Kind: cols[1], Params: cols[2], Since: cols[3], Meaning: cols[4]}
		idx := len(c.entries)
		c.entries = append(c.entries, e)
		key := catalogKey(e.Name)
		c.byKey[key] = append(c.byKey[key], idx)
		switch e.Kind {
		case CatSystemCommand:
			c.functions[strings.ToUpper(e.Name)] = true
			c.systemNames[key] = true
		case CatSystemVariable, CatSystemConstant, CatQueryCommand:
			c.systemNames[key] = true
		case CatHeaderCommand:
			// header values are readable as variables (G_RIGHT_PLACES in LATHE.LIB)
			c.systemNames[key] = true
		case CatSystemSection:
			c.sysSections[key] = true
		case CatOther:
			if e.Params == "template section" {
				c.templates[key] = true
			}
		}
	}
	return c
}

// addStock adds the rows of stock.tsv that the catalogue does not have yet.
func (c *catalog) addStock(tsv string) {
	for _, line := range strings.Split(tsv, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || strings.HasPrefix(line, "name\t") {
			continue
		}
		cols := strings.Split(line, "\t")
		for len(cols) < 6 {
			cols = append(cols, "")
		}
		key := catalogKey(cols[0])
		if len(c.byKey[key]) > 0 {
			continue
		}
		e := CatalogEntry{Name: cols[0], Kind: cols[1], Params: cols[2], Since: cols[3], Meaning: cols[4], Source: StockSource(cols[5])}
		c.byKey[key] = append(c.byKey[key], len(c.entries))
		c.entries = append(c.entries, e)
		if e.Kind == CatSystemVariable || e.Kind == CatSystemCommand {
			c.systemNames[key] = true
		}
	}
}

// StockSource is the source mark shown for a stock.tsv row.
func StockSource(source string) string {
	if r, ok := strings.CutPrefix(source, "reviewed: "); ok {
		return "not in the language reference; " + r
	}
	return "seen in " + source
}

// StockNames returns the catalogue rows that came from stock.tsv.
func StockNames() []CatalogEntry {
	var out []CatalogEntry
	for _, e := range theCatalog().entries {
		if e.Source != "" {
			out = append(out, e)
		}
	}
	return out
}

// catalogKey is the lookup key of a name: a leading ':' removed, blanks
// turned into '_', upper case.
func catalogKey(name string) string {
	name = strings.TrimSpace(name)
	if strings.HasPrefix(name, ":") && len(name) > 1 && name != ":T:" && name != ":C:" && name != ":Cn:" {
		name = name[1:]
	}
	return CanonicalName(name)
}

// variablePrefixes are the prefix families of system variables (catalogue
// section 8.3), longest first.
var variablePrefixes = []string{"S_N_", "S_P_", "N_REV_", "P_REV_", "REV_", "NC_", "N_", "P_", "O_", "S_"}

// Lookup returns every catalogue entry for name. Matching ignores case, a
// leading ':' and the difference between blanks and underscores, so
// "ATTRCFUNC", ":ATTRCFUNC" and "attrcfunc" all find the attribute command,
// and "TOOL COMMENT" finds TOOL_COMMENT. When name carries a system-variable
// prefix (N_X_END, P_TOOL …) and only the base name is catalogued, the base
// entries are returned with Prefix set. The result is nil when the catalogue
// does not know the name.
func Lookup(name string) []CatalogEntry {
	c := theCatalog()
	key := catalogKey(name)
	if idx := c.byKey[key]; len(idx) > 0 {
		out := make([]CatalogEntry, len(idx))
		for i, j := range idx {
			out[i] = c.entries[j]
		}
		return out
	}
	for _, pre := range variablePrefixes {
		if len(key) > len(pre) && strings.HasPrefix(key, pre) {
			var out []CatalogEntry
			for _, j := range c.byKey[key[len(pre):]] {
				if c.entries[j].Kind == CatSystemVariable {
					e := c.entries[j]
					e.Prefix = pre
					out = append(out, e)
				}
			}
			if len(out) > 0 {
				return out
			}
		}
	}
	return nil
}

// LookupKind returns the first catalogue entry for name with the given kind.
func LookupKind(name, kind string) (CatalogEntry, bool) {
	for _, e := range Lookup(name) {
		if e.Kind == kind {
			return e, true
		}
	}
	return CatalogEntry{}, false
}

// CatalogEntries returns a copy of the whole catalogue, in file order.
func CatalogEntries() []CatalogEntry {
	c := theCatalog()
	return append([]CatalogEntry(nil), c.entries...)
}

// IsSystemSection reports whether the posting engine itself calls the section
// (kind system-section in the catalogue).
func IsSystemSection(name string) bool {
	return theCatalog().sysSections[CanonicalName(name)]
}

// IsTemplateSection reports whether the posting engine outputs the section
// at an event of its own (START_OF_TAPE, RAPID_MOVE …: "template section" in
// the catalogue), so that nothing in the post needs to call it.
func IsTemplateSection(name string) bool {
	return theCatalog().templates[CanonicalName(name)]
}

// IsSystemName reports whether name is a system variable, system constant,
// built-in command/function, query id or header value of the language, so
// that a reference to it is never "undefined". Prefix families (N_, P_, NC_ …)
// and the CAM_REV<year>… version constants are understood.
func IsSystemName(name string) bool {
	c := theCatalog()
	key := CanonicalName(name)
	if c.systemNames[key] {
		return true
	}
	// version constants: CAMWORKS_VER is compared with CAM_REV<year>[_SPn…];
	// the catalogue lists most, not all, of them
	if strings.HasPrefix(key, "CAM_REV") && len(key) >= 11 && isDigit(key[7]) {
		return true
	}
	for _, pre := range variablePrefixes {
		if len(key) > len(pre) && key[:len(pre)] == pre && c.systemNames[key[len(pre):]] {
			return true
		}
	}
	return false
}

func isCatalogFunction(upperName []byte) bool {
	return theCatalog().functions[string(upperName)]
}
