package resolve

import (
	_ "embed"
	"strings"
	"sync"

	"github.com/veripost/veripost/internal/upg"
)

// masteratr.tsv lists the names the stock MASTER.ATR defines that are not
// spelled in lower case (operation ids such as "Tailstock", and the few
// upper-case attributes): columns canonical name and kind (attribute or
// operation). A package that does not ship MASTER.ATR still compares
// OPR_TYPE with these ids; they are "unknown, MASTER.ATR missing", not
// undefined. Lower-case names need no list: their spelling says they are
// MASTER.ATR's. Derived from the corpus by TestStockData (-update rewrites it).
//
//go:embed masteratr.tsv
var masterATRTSV string

var masterATR = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(masterATRTSV, "\n") {
		name, kind, ok := strings.Cut(strings.TrimRight(line, "\r"), "\t")
		if ok && name != "name" {
			m[name] = kind
		}
	}
	return m
})

// MasterATRDefines says what the stock MASTER.ATR defines under this name:
// "an operation id", "an attribute", or "" when it does not.
func MasterATRDefines(name string) string {
	switch masterATR()[upg.CanonicalName(name)] {
	case KindOperation:
		return "an operation id"
	case KindAttribute:
		return "an attribute"
	}
	return ""
}

// StockLibraryNames are the file names of the vendor's stock libraries: a
// package rarely ships them (its :LIBRARY= points into the CAM install), so
// VeriPost's library registry can stand in for them.
var StockLibraryNames = []string{"MILL.LIB", "LATHE.LIB", "MILLTURN.LIB", "GENERAL.LIB", "LATHE_MULTI_TURRET.LIB",
	"MILLTURN_MULTI_TURRET.LIB", "MILLTURN_PROBE.LIB", "MASTER.ATR"}

// IsStockLibrary reports whether a file name is one of StockLibraryNames.
func IsStockLibrary(name string) bool {
	b := strings.ToUpper(upg.BaseName(name))
	for _, s := range StockLibraryNames {
		if s == b {
			return true
		}
	}
	return false
}
