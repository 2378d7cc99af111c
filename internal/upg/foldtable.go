package upg

import (
	"encoding/binary"
	"sync"
)

// nameTable answers case-insensitive look-ups of names (letters, digits,
// '_') in an upper-case keyed set without building an upper-case copy:
// open addressing over a hash of the case-folded bytes, keys compared
// eight bytes at a time. The lexer computes the hash while it scans a name
// (identScan), so a look-up does not read the name twice.
//
// Folding is clearing bit 0x20 of every byte: it maps a-z onto A-Z and
// keeps the other name bytes apart (digits become 0x10-0x19, '_' stays),
// so two names are equal ignoring case exactly when their folded bytes
// are. Only names can be looked up that way: lookup checks that the bytes
// are name bytes, lookupName trusts its caller.
type nameTable struct {
	slots [nameSlots]uint16 // 0 empty, else 1 + index into keys and vals
	keys  []nameKey
	vals  []uint16
}

const (
	nameBits    = 12
	nameSlots   = 1 << nameBits // a few hundred keys: probes rarely go past the first slot
	nameMaxLen  = 48            // longer names are not in a nameTable
	nameWords   = nameMaxLen / 8
	foldMask    = 0x2020202020202020
	nameHashMul = 0xFF51AFD7ED558CCD
)

// nameKey is a key's folded bytes, zero-padded to whole words.
type nameKey struct {
	w [nameWords]uint64
	n int
}

// foldMix adds a word of (up to) eight name bytes, zero-padded, to the
// hash state h.
func foldMix(h, w uint64) uint64 { return (h ^ w&^foldMask) * nameHashMul }

// foldState is the foldMix state of all the bytes of b, eight at a time,
// and the last word it mixed in (0 for no bytes).
func foldState[S ~string | ~[]byte](b S) (h, last uint64) {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		last = loadWord(b[i : i+8])
		h = foldMix(h, last)
	}
	if i < len(b) {
		last = loadWord(b[i:])
		h = foldMix(h, last)
	}
	return h, last
}

// loadWord reads up to eight bytes little-endian, zero-padded.
func loadWord[S ~string | ~[]byte](b S) uint64 {
	if len(b) >= 8 {
		return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	}
	var w uint64
	for j := 0; j < len(b); j++ {
		w |= uint64(b[j]) << (8 * j)
	}
	return w
}

// nameSlot is the first slot to probe for a name of n bytes with state h.
func nameSlot(h uint64, n int) uint32 {
	h = (h ^ uint64(n)) * 0xC4CEB9FE1A85EC53
	return uint32(h >> (64 - nameBits))
}

// newNameTable builds the table of m's keys (upper case); keys that are
// not names of at most nameMaxLen bytes are left out (no name equals them).
func newNameTable[V ~uint8 | ~uint16](m map[string]V) *nameTable {
	t := &nameTable{}
	for k, v := range m {
		if len(k) == 0 || len(k) > nameMaxLen || identEnd([]byte(k), 0, len(k)) != len(k) || len(t.keys) >= 0xFFFF-1 {
			continue
		}
		var key nameKey
		key.n = len(k)
		for i := 0; i < len(k); i += 8 {
			key.w[i/8] = loadWord(k[i:min(i+8, len(k))]) &^ foldMask
		}
		h, _ := foldState(k)
		s := nameSlot(h, len(k))
		for t.slots[s] != 0 {
			s = (s + 1) & (nameSlots - 1)
		}
		t.keys = append(t.keys, key)
		t.vals = append(t.vals, uint16(v))
		t.slots[s] = uint16(len(t.keys))
	}
	return t
}

// lookup returns the value of name (any case) and whether it is a key.
func (t *nameTable) lookup(name []byte) (uint16, bool) {
	if len(name) == 0 || len(name) > nameMaxLen || identEnd(name, 0, len(name)) != len(name) {
		return 0, false
	}
	h, last := foldState(name)
	return t.lookupName(name, h, last)
}

// lookupName is lookup for bytes that are all name bytes, whose foldMix
// state h and last word the caller computed (see foldState).
func (t *nameTable) lookupName(name []byte, h, last uint64) (uint16, bool) {
	n := len(name)
	if n > nameMaxLen {
		return 0, false
	}
	for s := nameSlot(h, n); ; s = (s + 1) & (nameSlots - 1) {
		e := t.slots[s]
		if e == 0 {
			return 0, false
		}
		if k := &t.keys[e-1]; k.n == n && k.equal(name, last) {
			return t.vals[e-1], true
		}
	}
}

// equal compares the folded bytes of name (of the key's length, last its
// last word) with the key.
func (k *nameKey) equal(name []byte, last uint64) bool {
	i := 0
	for ; i+8 < len(name); i += 8 {
		if binary.LittleEndian.Uint64(name[i:])&^foldMask != k.w[i/8] {
			return false
		}
	}
	return last&^foldMask == k.w[i/8]
}

var (
	fastTablesOnce sync.Once
	cmdFast        *nameTable // command word → id (see cmdByID)
	nameFast       *nameTable // what a name in calculation code is to the lexer (see nameInfo)
)

func fastTables() {
	fastTablesOnce.Do(func() {
		ids := make(map[string]uint16, len(commands()))
		for k, v := range commands() {
			ids[k] = v.id
		}
		cmdFast = newNameTable(ids)
		nameFast = newNameTable(nameInfos())
	})
}

// isFunctionName reports whether name (any case) is a built-in command or
// function of the catalogue.
func isFunctionName[S ~string | ~[]byte](name S) bool {
	if len(name) > 40 {
		// nameFast has the built-ins of up to 40 bytes (the lexer's); ask the map
		up := make([]byte, len(name))
		for i := 0; i < len(name); i++ {
			up[i] = upperByte(name[i])
		}
		return isCatalogFunction(up)
	}
	fastTables()
	v, _ := nameFast.lookup([]byte(name))
	return nameInfo(v)&niFunction != 0
}

// nameInfo is what the lexer needs to know about a name in calculation
// code, from one look-up: its keyword id, whether it is a built-in
// command or function, which of its arguments names a section, and
// whether it is a keyword UPG does not have (NOT, WHILE …).
type nameInfo uint8

const (
	niKeyword     nameInfo = 0x0F // keyword id (kwNone … kwGoto)
	niFunction    nameInfo = 0x10 // a built-in command or function (names of at most 40 bytes)
	niSectionArg  nameInfo = 0x60 // 1 + the index of the argument that names a section
	niUnsupported nameInfo = 0x80 // spelled as one of unsupportedWords
)

func (n nameInfo) keyword() int { return int(n & niKeyword) }

// sectionArg is the index of the argument that names a section, -1 when none.
func (n nameInfo) sectionArg() int { return int(n&niSectionArg)>>5 - 1 }

// nameInfos builds the entries of nameFast: the catalogue's built-ins
// and the unsupported keywords, upper case (nameInfoOf tells the keywords
// without a look-up).
func nameInfos() map[string]nameInfo {
	m := make(map[string]nameInfo, len(theCatalog().functions)+16)
	for name := range theCatalog().functions {
		if len(name) > 0 && len(name) <= 40 {
			m[name] |= niFunction
		}
	}
	for _, f := range sectionArgFuncs {
		m[f.name] |= nameInfo(f.arg+1) << 5
	}
	for _, w := range unsupportedWords {
		m[w] |= niUnsupported
	}
	for name := range m {
		nameFirst[len(name)][name[0]&31] = true
	}
	return m
}

// nameFirst says which lengths and first bytes (folded: the low five
// bits) the keys of nameFast have: most names of a file are none of them
// and need no look-up.
var nameFirst [nameMaxLen + 1][32]bool

// The keywords as folded words (see keywordWord).
var (
	wIF, wOR, wAND       = loadWord("IF"), loadWord("OR"), loadWord("AND")
	wTHEN, wELSE, wCALL  = loadWord("THEN"), loadWord("ELSE"), loadWord("CALL")
	wGOTO, wENDIF, wRETN = loadWord("GOTO"), loadWord("ENDIF"), loadWord("RETURN")
)

// keywordWord is keywordOf for a name of n ≤ 8 bytes given as its folded
// word (GOTOn excepted).
func keywordWord(w uint64, n int) int {
	switch n {
	case 2:
		if w == wIF {
			return kwIf
		}
		if w == wOR {
			return kwOr
		}
	case 3:
		if w == wAND {
			return kwAnd
		}
	case 4:
		switch w {
		case wTHEN:
			return kwThen
		case wELSE:
			return kwElse
		case wCALL:
			return kwCall
		case wGOTO:
			return kwGoto
		}
	case 5:
		if w == wENDIF {
			return kwEndif
		}
	case 6:
		if w == wRETN {
			return kwReturn
		}
	}
	return kwNone
}

// nameInfoOf tells what a name (name bytes only) is; h and last are its
// foldMix state and last word (see identScan). GOTOn (any digits) is the
// keyword GOTO. The lexer calls it, after fastTables.
func nameInfoOf(name []byte, h, last uint64) nameInfo {
	n := len(name)
	if n <= 8 {
		if kw := keywordWord(last&^foldMask, n); kw != kwNone {
			return nameInfo(kw)
		}
	}
	var info nameInfo
	if n <= nameMaxLen && nameFirst[n][name[0]&31] {
		v, _ := nameFast.lookupName(name, h, last)
		info = nameInfo(v)
	}
	if n > 4 && name[0]|0x20 == 'g' {
		info |= nameInfo(keywordOf(name))
	}
	return info
}
