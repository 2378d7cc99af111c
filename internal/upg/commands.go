package upg

import (
	"maps"
	"slices"
	"strings"
	"sync"
)

// cmdClass says what role a ':NAME' command plays in a file.
type cmdClass uint8

const (
	ccUnknown    cmdClass = iota
	ccHeader              // global header command (:SYSTEM=, :LEADING= …)
	ccAttr                // attribute sub-command (:ATTRTYPE=, :CODE= …)
	ccAttrStart           // :ATTRNAME=
	ccAttrEnd             // :ATTREND
	ccOperStart           // :OPERID=
	ccOper                // :OPERSUB=, :OPERLIST=
	ccOperEnd             // :OPEREND
	ccSection             // :SECTION=
	ccLibrary             // :LIBRARY=
	ccInclude             // :INCLUDE=
	ccDefine              // :DEFINE NAME=value
	ccStandalone          // :IDHIGH=, :ATTRMACHINE= (stand-alone, header-like)
	ccStation             // tool-station file commands (:KEYED= …)
	ccConfig              // .CNF pick lists (:CONFIG_SELECT_NAME= …)
)

// valueShape says how the text after the command name is lexed.
type valueShape uint8

const (
	vsValue      valueShape = iota // free value text
	vsFlag                         // no value
	vsName                         // an attribute / operation name (blanks allowed)
	vsPath                         // a Windows path
	vsSection                      // NAME[(params)]
	vsFunc                         // NAME[(args)] (ATTRCFUNC)
	vsSectionRef                   // NAME (ATTRFUNC)
	vsDefine                       // ' NAME=value'
)

type cmdInfo struct {
	class cmdClass
	shape valueShape
	multi bool   // may repeat within a block / select group
	key   string // the upper-case command word (map key)
	id    uint16 // index in cmdByID (known commands start at 1)
}

var (
	cmdOnce  sync.Once
	cmdTable map[string]cmdInfo
	cmdByID  []cmdInfo
)

func commands() map[string]cmdInfo {
	cmdOnce.Do(buildCommands)
	return cmdTable
}

func buildCommands() {
	c := theCatalog()
	t := make(map[string]cmdInfo, 256)
	for _, e := range c.entries {
		if !strings.HasPrefix(e.Name, ":") || strings.HasSuffix(e.Name, ":") {
			continue
		}
		name := strings.ToUpper(e.Name[1:])
		info := cmdInfo{shape: vsValue}
		switch e.Kind {
		case CatHeaderCommand:
			info.class = ccHeader
		case CatAttributeCommand:
			info.class = ccAttr
			if e.Params == "" {
				info.shape = vsFlag
			}
		case CatCompilerCommand:
			continue // handled below
		case CatOther:
			info.class = ccStation
		default:
			continue
		}
		if old, ok := t[name]; ok && old.class == ccAttr {
			continue
		}
		t[name] = info
	}
	for _, n := range []string{"CONFIG_SELECT_NAME", "CONFIG_SELECT_OPTION", "CONFIG_SELECT_DEFAULT"} {
		t[n] = cmdInfo{class: ccConfig, shape: vsValue, multi: true}
	}
	t["CONFIG_SELECT_NAME"] = cmdInfo{class: ccConfig, shape: vsName}
	t["CONFIG_SELECT_END"] = cmdInfo{class: ccConfig, shape: vsFlag}
	t["ATTRNAME"] = cmdInfo{class: ccAttrStart, shape: vsName}
	t["ATTREND"] = cmdInfo{class: ccAttrEnd, shape: vsFlag}
	t["OPERID"] = cmdInfo{class: ccOperStart, shape: vsName}
	t["OPERSUB"] = cmdInfo{class: ccOper, shape: vsName}
	t["OPERLIST"] = cmdInfo{class: ccOper, shape: vsName, multi: true}
	t["OPEREND"] = cmdInfo{class: ccOperEnd, shape: vsFlag}
	t["SECTION"] = cmdInfo{class: ccSection, shape: vsSection}
	t["LIBRARY"] = cmdInfo{class: ccLibrary, shape: vsPath}
	t["INCLUDE"] = cmdInfo{class: ccInclude, shape: vsPath}
	t["DEFINE"] = cmdInfo{class: ccDefine, shape: vsDefine}
	t["IDHIGH"] = cmdInfo{class: ccStandalone, shape: vsValue}
	t["ATTRMACHINE"] = cmdInfo{class: ccStandalone, shape: vsValue}
	t["VAR"] = cmdInfo{class: ccAttr, shape: vsName}
	t["VARB"] = cmdInfo{class: ccAttr, shape: vsName}
	t["ATTRLIST"] = cmdInfo{class: ccAttr, shape: vsName, multi: true}
	t["ATTRLISTDEF"] = cmdInfo{class: ccAttr, shape: vsValue, multi: true}
	t["ATTRSELSTR"] = cmdInfo{class: ccAttr, shape: vsValue, multi: true}
	t["SELECT"] = cmdInfo{class: ccAttr, shape: vsValue, multi: true}
	t["ATTRCFUNC"] = cmdInfo{class: ccAttr, shape: vsFunc}
	t["ATTRFUNC"] = cmdInfo{class: ccAttr, shape: vsSectionRef}
	cmdByID = make([]cmdInfo, 1, len(t)+1) // id 0: no known command
	for _, k := range slices.Sorted(maps.Keys(t)) {
		v := t[k]
		v.key, v.id = k, uint16(len(cmdByID))
		t[k] = v
		cmdByID = append(cmdByID, v)
	}
	cmdTable = t
}

// lookupCommand finds a command by its name bytes (case-insensitive).
func lookupCommand(name []byte) (cmdInfo, bool) {
	id := commandID(name)
	return cmdByID[id], id != 0
}

// commandIDHashed is commandID for name bytes whose foldMix state h and
// last word the lexer computed while reading them (after fastTables).
func commandIDHashed(name []byte, h, last uint64) uint16 {
	if len(name) > nameMaxLen {
		return commandID(name)
	}
	id, _ := cmdFast.lookupName(name, h, last)
	return id // 0 when not found
}

// commandID is the catalogue id of a command word (any case): the index
// of its entry in cmdByID, 0 when the word is no known command.
func commandID(name []byte) uint16 {
	fastTables()
	if id, ok := cmdFast.lookup(name); ok {
		return id
	}
	if len(name) > 48 || identEnd(name, 0, len(name)) == len(name) {
		return 0 // cmdFast holds every command that is a name of up to 48 bytes
	}
	var buf [48]byte
	up := buf[:len(name)]
	for i, c := range name {
		up[i] = upperByte(c)
	}
	return commands()[string(up)].id
}
