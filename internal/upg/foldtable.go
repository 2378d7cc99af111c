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
	exact   bool   // keys compare byte for byte (the map is looked up with name as is)
	seed    uint64 // of foldHash, chosen so that no two keys share a slot
}

const (
	foldBits  = 12
	foldSlots = 1 << foldBits
	foldMulti = 0xFFFF
)

type foldEntry[V any] struct {
	key string
	val V
}

// foldHash hashes b without regard to ASCII case: clearing bit 0x20 maps
// a-z onto A-Z and keeps the other name bytes (digits, '_') apart. It
// takes eight bytes at a time (names average about nine), so that a
// name costs a multiplication or two rather than one per byte.
func foldHash[S ~string | ~[]byte](b S, seed uint64) uint32 {
	const fold = 0x2020202020202020
	h := (uint64(len(b)) + seed) * 0x9E3779B97F4A7C15
	i := 0
	for ; i+8 <= len(b); i += 8 {
		c := b[i : i+8] // one bounds check for the eight bytes
		w := uint64(c[0]) | uint64(c[1])<<8 | uint64(c[2])<<16 | uint64(c[3])<<24 |
			uint64(c[4])<<32 | uint64(c[5])<<40 | uint64(c[6])<<48 | uint64(c[7])<<56
		h = (h ^ w&^fold) * 0xFF51AFD7ED558CCD
	}
	if i < len(b) {
		var w uint64
		for j := 0; i+j < len(b); j++ {
			w |= uint64(b[i+j]) << (8 * j)
		}
		h = (h ^ w&^fold) * 0xC4CEB9FE1A85EC53
	}
	return uint32(h>>(64-foldBits)) & (foldSlots - 1)
}

// newFoldTable builds the table of m's keys. It tries a few seeds and
// keeps the first that gives every key a slot of its own (a perfect hash
// of the catalogue's names), else the one that leaves the fewest shared.
func newFoldTable[V any](m map[string]V, exact bool) *foldTable[V] {
	var best *foldTable[V]
	bestShared := -1
	for seed := uint64(0); seed < 64 && bestShared != 0; seed++ {
		t := &foldTable[V]{exact: exact, seed: seed}
		shared := 0
		for k, v := range m {
			s := &t.slots[foldHash(k, seed)]
			if *s != 0 || len(t.entries) >= foldMulti-1 {
				if *s != foldMulti {
					shared++
				}
				*s = foldMulti
				continue
			}
			t.entries = append(t.entries, foldEntry[V]{k, v})
			*s = uint16(len(t.entries))
		}
		if bestShared < 0 || shared < bestShared {
			best, bestShared = t, shared
		}
	}
	return best
}

// lookup returns the value of the key equal to name (upper-cased unless
// exact); decided is
// false when the table cannot tell and the map must be asked.
func (t *foldTable[V]) lookup(name []byte) (v V, found, decided bool) {
	return foldLookup(t, name)
}

// foldLookup is lookup for a name given as a string or as bytes.
func foldLookup[V any, S ~string | ~[]byte](t *foldTable[V], name S) (v V, found, decided bool) {
	switch s := t.slots[foldHash(name, t.seed)]; s {
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
