package upg

import "sync"

// foldTable answers most case-insensitive lookups of an upper-case keyed
// map without hashing a string: a small table indexed by a cheap hash of
// the upper-cased bytes. A slot names the single key with that hash, or
// says that several keys share it (then the caller asks the map). An empty
// slot means no key has that hash: a definite miss.
type foldTable[V any] struct {
	slots   [foldSlots]uint16 // 0 empty, foldMulti shared, else 1 + index into entries
	entries []foldEntry[V]
	exact   bool // keys compare byte for byte (the map is looked up with name as is)
}

const (
	foldSlots = 4096
	foldMulti = 0xFFFF
)

type foldEntry[V any] struct {
	key string
	val V
}

// foldHash hashes b without regard to ASCII case: clearing bit 0x20 maps
// a-z onto A-Z and keeps the other name bytes (digits, '_') apart.
func foldHash[S ~string | ~[]byte](b S) uint32 {
	h := uint32(len(b)) * 0x9E3779B1
	for i := 0; i < len(b); i++ {
		h = (h ^ uint32(b[i]&^0x20)) * 16777619
	}
	return (h ^ h>>16) & (foldSlots - 1)
}

func newFoldTable[V any](m map[string]V, exact bool) *foldTable[V] {
	t := &foldTable[V]{exact: exact}
	for k, v := range m {
		s := &t.slots[foldHash(k)]
		if *s != 0 || len(t.entries) >= foldMulti-1 {
			*s = foldMulti
			continue
		}
		t.entries = append(t.entries, foldEntry[V]{k, v})
		*s = uint16(len(t.entries))
	}
	return t
}

// lookup returns the value of the key equal to name (upper-cased unless
// exact); decided is
// false when the table cannot tell and the map must be asked.
func (t *foldTable[V]) lookup(name []byte) (v V, found, decided bool) {
	return foldLookup(t, name)
}

// foldLookup is lookup for a name given as a string or as bytes.
func foldLookup[V any, S ~string | ~[]byte](t *foldTable[V], name S) (v V, found, decided bool) {
	switch s := t.slots[foldHash(name)]; s {
	case 0:
		return v, false, true
	case foldMulti:
		return v, false, false
	default:
		e := &t.entries[s-1]
		if t.exact && string(name) == e.key || !t.exact && equalFoldASCII(name, e.key) {
			return e.val, true, true
		}
	}
	return v, false, true
}

var (
	fastTablesOnce sync.Once
	cmdFast        *foldTable[uint16] // command word → id (see cmdByID)
	funcFast       *foldTable[bool]
)

func fastTables() {
	fastTablesOnce.Do(func() {
		ids := make(map[string]uint16, len(commands()))
		for k, v := range commands() {
			ids[k] = v.id
		}
		cmdFast = newFoldTable(ids, false)                     // commandID upper-cases the name
		funcFast = newFoldTable(theCatalog().functions, false) // isFunctionName takes any case
	})
}

// isFunctionName reports whether name (any case) is a built-in command or
// function of the catalogue, answered from the fold table when it can be.
func isFunctionName[S ~string | ~[]byte](name S) bool {
	fastTables()
	if v, found, decided := foldLookup(funcFast, name); decided {
		return found && v
	}
	if len(name) > 40 {
		return false
	}
	var buf [40]byte
	up := buf[:len(name)]
	for i := 0; i < len(name); i++ {
		up[i] = upperByte(name[i])
	}
	return isCatalogFunction(up)
}
