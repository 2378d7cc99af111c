package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const upgTestdata = "../upg/testdata"

func TestParseFileWithErrorsExits1(t *testing.T) {
	out, err := run(t, "parse", filepath.Join(upgTestdata, "diag", "UPG_UNBALANCED_IF.SRC"))
	var ee ExitError
	if !errors.As(err, &ee) || ee.Code != 1 {
		t.Fatalf("err %v, want exit status 1; output:\n%s", err, out)
	}
	if !strings.Contains(out, "UPG_UNBALANCED_IF.SRC:5:5: error UPG_UNBALANCED_IF: ENDIF without a matching IF") {
		t.Fatalf("diagnostic line missing:\n%s", out)
	}
}

func TestParseCleanFilePrintsOutline(t *testing.T) {
	out, err := run(t, "parse", filepath.Join(upgTestdata, "parse", "constructs.SRC"))
	if err != nil {
		t.Fatalf("err %v\n%s", err, out)
	}
	for _, want := range []string{"control family FANUCM", "system MILL", "attributes (1):", "MACHINE NAME", "operations (1):", "MILL_DRILLING/PECKING", "sections (2):", "START_OF_TAPE", "CALC_X(A,B)", ":LIBRARY=..\\..\\MasterLibraryFiles\\MILL.LIB", "0 error(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestParsePackageJSON(t *testing.T) {
	dir := filepath.Join("..", "upg", "resolve", "testdata", "resolution")
	out, err := run(t, "parse", "--json", dir)
	if err != nil {
		t.Fatalf("err %v\n%s", err, out)
	}
	var doc struct {
		ParserVersion string `json:"parser_version"`
		Metadata      struct {
			MachineName    string `json:"machine_name"`
			ControllerType string `json:"controller_type"`
		} `json:"metadata"`
		Libraries []struct {
			Resolved string `json:"resolved"`
			How      string `json:"how"`
		} `json:"libraries"`
		Files []struct {
			Outline json.RawMessage `json:"outline"`
		} `json:"files"`
		Summary struct {
			Errors int `json:"errors"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	outlines := 0
	for _, f := range doc.Files {
		if len(f.Outline) > 0 {
			outlines++
		}
	}
	if doc.ParserVersion == "" || doc.Metadata.MachineName != "My Machine 1100" || doc.Metadata.ControllerType != "PathPilot" ||
		len(doc.Libraries) != 4 || outlines != 5 || doc.Summary.Errors != 0 {
		t.Fatalf("unexpected JSON: %+v", doc)
	}
	// --tree adds syntax trees and the symbol table
	out, err = run(t, "parse", "--json", "--tree", dir)
	if err != nil || !strings.Contains(out, `"trees"`) || !strings.Contains(out, `"references"`) {
		t.Fatalf("--tree: %v", err)
	}
}

func TestParseSideFilesAndMissingPath(t *testing.T) {
	out, err := run(t, "parse", filepath.Join("..", "upg", "resolve", "testdata", "UPG_SIDEFILE_MALFORMED", "POST.KIN"))
	if err != nil || !strings.Contains(out, "five_axis_type") || !strings.Contains(out, "UPG_SIDEFILE_MALFORMED") {
		t.Fatalf("KIN: %v\n%s", err, out)
	}
	if _, err := run(t, "parse", "no/such/file.SRC"); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestParseCorpusPackage(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "tormach-pcnc1100")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("!!!!! SKIPPED: corpus package %s not present !!!!!", dir)
	}
	out, err := run(t, "parse", "--no-outline", dir)
	if err != nil {
		t.Fatalf("err %v\n%s", err, out)
	}
	if !strings.Contains(out, "0 error(s)") {
		t.Fatalf("output:\n%s", out)
	}
	out, _ = run(t, "parse", dir)
	if !strings.Contains(out, "machine:         Tormach PCNC1100 Series 3") || !strings.Contains(out, "controller:      PathPilot") {
		t.Fatalf("metadata missing:\n%s", out[:min(len(out), 2000)])
	}
}
