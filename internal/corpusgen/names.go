package corpusgen

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/veripost/veripost/internal/upg"
)

// Machines and controls new packages are named after. Names hold only
// letters, digits, blanks and '-', so they make valid file names everywhere.
var (
	millMachines = []string{
		"Haas VF-2", "Haas VF-4SS", "Haas Mini Mill", "Haas UMC-750", "DMG Mori CMX 600V", "DMG Mori DMU 50",
		"Doosan DNM 4500", "Okuma Genos M560-V", "Mazak VCN-530C", "Mazak Variaxis i-600", "Brother Speedio S700X1",
		"Hurco VM10i", "Fadal 4020", "Tormach 770M", "Tormach 1100MX", "Syil X7", "Hermle C 22", "Kern Micro HD",
		"Datron neo", "Shapeoko 4", "Avid Pro4848", "Laguna Swift 4x8", "ShopBot PRSalpha", "Fanuc Robodrill D21MiB5",
		"Makino PS95", "Matsuura MX-520", "Kitamura Mycenter-3XiF", "Fryer MC-30", "Milltronics VM3016", "Romi D 800",
	}
	latheMachines = []string{
		"Haas ST-10", "Haas ST-20Y", "Haas TL-1", "Okuma LB3000 EX II", "Mazak QT-250", "Mazak QTN-200",
		"Doosan Lynx 2100", "Doosan Puma 2600", "DMG Mori CLX 350", "DMG Mori NLX 2500", "Tormach 15L Slant-PRO",
		"Hardinge GS 150", "Nakamura-Tome AS-200", "Index B400", "Takisawa EX-308", "Romi GL 240", "Hwacheon Hi-TECH 230",
		"Samsung SL-20", "Emco Maxxturn 45", "Femco HL-25",
	}
	millControls = []string{
		"Fanuc 0i-MF", "Fanuc 31i-B", "Haas NGC", "Siemens 840D sl", "Siemens 828D", "Heidenhain TNC 640",
		"Mazatrol SmoothX", "Okuma OSP-P300M", "Mitsubishi M80", "LinuxCNC 2.9", "PathPilot", "GRBL 1.1",
		"Mach3", "Mach4", "Centroid Acorn", "Fagor 8065", "Brother CNC-D00", "Hurco WinMax",
	}
	latheControls = []string{
		"Fanuc 0i-TF", "Fanuc 31i-B", "Haas NGC", "Siemens 828D", "Siemens 840D sl", "Okuma OSP-P300L",
		"Mazatrol SmoothG", "Mitsubishi M80", "Fagor 8055T", "GSK 980TDi", "PathPilot", "LinuxCNC 2.9",
	}
)

// stemStyle is how a template spells its file names, followed by the new ones.
type stemStyle uint8

const (
	styleSpaces     stemStyle = iota // "Tormach PCNC1100 Series 3"
	styleUnderscore                  // "GENERIC_2AXIS_FANUC-2LINE_CANNED_CYCLES"
	styleHyphen                      // "GRBL-Post", "T2AXIS-TUTORIAL"
)

func styleOf(stem string) stemStyle {
	switch {
	case strings.Contains(stem, " "):
		return styleSpaces
	case strings.Contains(stem, "_"):
		return styleUnderscore
	}
	return styleHyphen
}

// packageName is the unique name of package i (also its files' stem).
func packageName(style stemStyle, machine string, i int) string {
	serial := fmt.Sprintf("%05d", i+1)
	switch style {
	case styleUnderscore:
		return strings.ToUpper(strings.ReplaceAll(machine, " ", "_")) + "_" + serial
	case styleHyphen:
		return strings.ToUpper(strings.ReplaceAll(machine, " ", "-")) + "-" + serial
	}
	return machine + " " + serial
}

// Pieces of the names people give their own variables.
var (
	namePrefixes  = []string{"MY_", "USR_", "SHOP_", "LOC_", "V_", "W_", "TMP_", "CUR_", "K_", "X_"}
	nameSuffixes  = []string{"_1", "_2", "_3", "_A", "_B", "_VAL", "_FLG", "_OLD", "_NEW", "_SAV", "_TMP", "_REG", "_CNT", "_OUT"}
	abbreviations = map[string]string{
		"TOOL": "TL", "NUMBER": "NUM", "COUNT": "CNT", "SPINDLE": "SPDL", "SPEED": "SPD", "POSITION": "POS",
		"FLAG": "FLG", "DIRECTION": "DIR", "COOLANT": "COOL", "FEED": "FD", "RAPID": "RPD", "CHANGE": "CHG",
		"OFFSET": "OFS", "LENGTH": "LEN", "COMMENT": "CMT", "PROGRAM": "PRG", "OUTPUT": "OUT", "CURRENT": "CUR",
		"PREVIOUS": "PREV", "INITIAL": "INIT", "MACHINE": "MCH", "CYCLE": "CYC", "VALUE": "VAL", "LAST": "LST",
		"MOVE": "MV", "RETRACT": "RTR", "CLEARANCE": "CLR", "DEPTH": "DPT", "DWELL": "DWL", "SEQUENCE": "SEQ",
		"MATERIAL": "MAT", "PART": "PRT", "TIME": "TM", "STOP": "STP", "NEXT": "NXT", "START": "STRT",
		"COMPENSATION": "COMP", "DIAMETER": "DIA", "RADIUS": "RAD", "ANGLE": "ANG", "HOME": "HM", "AXIS": "AX",
		"CODE": "CD", "LINE": "LN", "TEMP": "TMP", "FORMAT": "FMT", "SETUP": "SET", "BLOCK": "BLK",
	}
	expansions = func() map[string]string {
		m := make(map[string]string, len(abbreviations))
		for long, short := range abbreviations {
			m[short] = long
		}
		return m
	}()
)

const maxNameLen = 45

// newName derives a new canonical name from key, as a person editing a post
// would (a prefix, a suffix, an abbreviation), that taken(…) rejects not.
// A name starting with CALC keeps that start (it makes a section a
// calculation section) and other names never get it.
func newName(r *rand.Rand, key string, taken func(string) bool) string {
	calc := strings.HasPrefix(key, "CALC")
	head, body := "", key
	if calc && strings.HasPrefix(key, "CALC_") && len(key) > 5 {
		head, body = "CALC_", key[5:]
	}
	ok := func(n string) bool {
		return n != key && validName(n) && !isDigit(n[0]) && len(n) <= maxNameLen &&
			strings.HasPrefix(n, "CALC") == calc && !taken(n) && !upg.IsSystemName(n)
	}
	for try := 0; try < 12; try++ {
		var b string
		switch r.IntN(4) {
		case 0:
			b = namePrefixes[r.IntN(len(namePrefixes))] + body
		case 1:
			b = body + nameSuffixes[r.IntN(len(nameSuffixes))]
		case 2:
			b = replaceWord(r, body, abbreviations)
			if b == body {
				b = dropVowels(body)
			}
		default:
			b = replaceWord(r, body, expansions)
		}
		if n := head + b; ok(n) {
			return n
		}
	}
	// Fall back to a numbered name, which always ends up free: the taken
	// names are finite and the base is made valid first.
	base := []byte(key)
	for i, c := range base {
		if !(c >= 'A' && c <= 'Z' || isDigit(c) || c == '_') {
			base[i] = '_'
		}
	}
	if len(base) == 0 || isDigit(base[0]) {
		base = append([]byte("N"), base...)
	}
	for n := 2; ; n++ {
		suffix := fmt.Sprintf("_%d", n)
		b := string(base)
		if len(b)+len(suffix) > maxNameLen {
			b = b[:maxNameLen-len(suffix)]
		}
		if c := b + suffix; !taken(c) && !upg.IsSystemName(c) {
			return c
		}
	}
}

// replaceWord replaces one '_'-separated word found in table.
func replaceWord(r *rand.Rand, name string, table map[string]string) string {
	words := strings.Split(name, "_")
	var hits []int
	for i, w := range words {
		if _, ok := table[w]; ok {
			hits = append(hits, i)
		}
	}
	if len(hits) == 0 {
		return name
	}
	i := hits[r.IntN(len(hits))]
	words[i] = table[words[i]]
	return strings.Join(words, "_")
}

// dropVowels abbreviates the longest word by removing its inner vowels.
func dropVowels(name string) string {
	words := strings.Split(name, "_")
	best := -1
	for i, w := range words {
		if len(w) >= 4 && (best < 0 || len(w) > len(words[best])) {
			best = i
		}
	}
	if best < 0 {
		return name
	}
	w := words[best]
	var b strings.Builder
	b.WriteByte(w[0])
	for i := 1; i < len(w); i++ {
		if !strings.ContainsRune("AEIOU", rune(w[i])) {
			b.WriteByte(w[i])
		}
	}
	words[best] = b.String()
	return strings.Join(words, "_")
}

// spell writes a canonical name the way an occurrence was written: in lower
// case for a lower-case (user attribute) spelling, with blanks for a
// spelling with blanks.
func spell(key string, lower, blanks bool) string {
	if lower {
		key = strings.ToLower(key)
	}
	if blanks {
		key = strings.ReplaceAll(key, "_", " ")
	}
	return key
}
