package upload

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// baseName flattens a path: it keeps what follows the last '/' or '\'.
func baseName(p string) string {
	return p[strings.LastIndexAny(p, `/\`)+1:]
}

// isDirPath reports whether p names a directory (ends in a separator).
func isDirPath(p string) bool {
	return strings.HasSuffix(p, "/") || strings.HasSuffix(p, `\`)
}

// isJunk reports whether p is operating-system clutter that is skipped
// silently: anything under __MACOSX/, AppleDouble "._*" files, .DS_Store,
// Thumbs.db, desktop.ini and the macOS custom-icon file "Icon\r".
func isJunk(p string) bool {
	for _, el := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if strings.EqualFold(el, "__MACOSX") {
			return true
		}
	}
	b := baseName(p)
	switch strings.ToLower(b) {
	case ".ds_store", "thumbs.db", "desktop.ini", "icon\r":
		return true
	}
	return strings.HasPrefix(b, "._")
}

// extOf returns the upper-case extension of a base name, without the dot,
// or "" if there is none.
func extOf(base string) string {
	i := strings.LastIndexByte(base, '.')
	if i < 0 {
		return ""
	}
	return strings.ToUpper(base[i+1:])
}

// isKnownExt reports whether ext (upper-case) is a UPG extension.
func isKnownExt(ext string) bool {
	for _, k := range KnownExtensions {
		if ext == k {
			return true
		}
	}
	return false
}

// windowsDevices are names Windows reserves whatever the extension.
var windowsDevices = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM0": true, "COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT0": true, "LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
	"COM¹": true, "COM²": true, "COM³": true, "LPT¹": true, "LPT²": true, "LPT³": true,
}

// flatten returns the base name of p, or why p is unsafe (see the package
// documentation for the policy). p must be valid UTF-8 (decodeZipName).
func flatten(p string) (name, unsafe string) {
	if !utf8.ValidString(p) {
		return "", "name is not valid UTF-8"
	}
	for _, r := range p {
		if r == utf8.RuneError {
			continue // U+FFFD is a visible character
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", fmt.Sprintf("name contains the control or invisible character %U", r)
		}
	}
	b := baseName(p)
	switch {
	case b == "":
		return "", "file name is empty"
	case b == "." || b == "..":
		return "", fmt.Sprintf("file name is %q", b)
	case len(b) > 255:
		return "", fmt.Sprintf("file name is %d bytes long, at most 255 are allowed", len(b))
	case strings.ContainsAny(b, `<>:"|?*`):
		return "", `file name contains one of < > : " | ? * (not allowed on Windows)`
	case strings.HasSuffix(b, ".") || strings.HasSuffix(b, " "):
		return "", "file name ends with a dot or a space (Windows would drop it)"
	}
	stem := b
	if i := strings.IndexByte(stem, '.'); i >= 0 {
		stem = stem[:i]
	}
	if windowsDevices[strings.ToUpper(strings.TrimRight(stem, " "))] {
		return "", fmt.Sprintf("file name uses the reserved Windows device name %q", stem)
	}
	return b, ""
}

// cp437High maps bytes 0x80–0xFF of code page 437 to Unicode.
const cp437High = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»" +
	"░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀" +
	"αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0"

var cp437Table = []rune(cp437High)

// decodeZipName returns a ZIP entry name as UTF-8: unchanged if it already
// is valid UTF-8, otherwise decoded as code page 437 (the ZIP default for
// entries without the UTF-8 flag).
func decodeZipName(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 {
			b.WriteByte(c)
		} else {
			b.WriteRune(cp437Table[c-0x80])
		}
	}
	return b.String()
}

// listNames formats names for an error detail, quoted (so control
// characters are visible) and capped so the detail stays small.
func listNames(names []string) string {
	const maxShown = 20
	var b strings.Builder
	for i, n := range names {
		if i == maxShown {
			fmt.Fprintf(&b, " and %d more", len(names)-maxShown)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteName(n))
	}
	return b.String()
}

// quoteName quotes a name for a message, shortening absurdly long ones.
func quoteName(n string) string {
	if len(n) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(n[cut]) {
			cut--
		}
		n = n[:cut] + "…"
	}
	return fmt.Sprintf("%q", n)
}

// IsJunk reports whether a path is operating-system clutter (.DS_Store,
// Thumbs.db, __MACOSX/ …) that uploads skip silently.
func IsJunk(p string) bool { return isJunk(p) }

// IsKnownExtension reports whether a file name has a UPG extension.
func IsKnownExtension(name string) bool { return isKnownExt(extOf(baseName(name))) }
