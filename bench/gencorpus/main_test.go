package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/corpusgen"
)

const miniCorpus = "../../internal/corpusgen/testdata/mini"

func TestWritesFoldersAndZips(t *testing.T) {
	for _, zip := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "pkgs")
		args := []string{"-n", "12", "-seed", "4", "-out", out, "-corpus", miniCorpus, "-quiet"}
		if zip {
			args = append(args, "-zip")
		}
		var stdout, stderr bytes.Buffer
		if err := run(args, &stdout, &stderr); err != nil {
			t.Fatalf("run: %v\n%s", err, stderr.String())
		}
		if !strings.Contains(stdout.String(), "12 packages (seed 4)") || !strings.Contains(stdout.String(), "shared library MILL.LIB") {
			t.Errorf("summary:\n%s", stdout.String())
		}
		entries, err := os.ReadDir(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 12 {
			t.Fatalf("%d entries in %s, want 12", len(entries), out)
		}
		// the folders hold exactly the generator's packages
		corpus, err := corpusgen.Load(miniCorpus)
		if err != nil {
			t.Fatal(err)
		}
		g := corpusgen.New(corpus, 4)
		for range 12 {
			p := g.Next()
			if zip {
				if _, err := os.Stat(filepath.Join(out, p.Name+".zip")); err != nil {
					t.Fatal(err)
				}
				continue
			}
			for _, f := range p.Files {
				data, err := os.ReadFile(filepath.Join(out, p.Name, f.Name))
				if err != nil || !bytes.Equal(data, f.Data) {
					t.Fatalf("%s/%s: %v (or different bytes)", p.Name, f.Name, err)
				}
			}
		}
	}
}

func TestRefusesUnsafeOutput(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "keep.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"not empty":     {[]string{"-out", full}, "not empty"},
		"in repository": {[]string{"-out", "testdata-out"}, "inside the repository"},
		"no corpus":     {[]string{"-corpus", filepath.Join(full, "missing")}, "-corpus DIR"},
		"bad n":         {[]string{"-n", "0"}, "at least 1"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(append([]string{"-corpus", miniCorpus, "-quiet"}, tc.args...), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat("testdata-out"); err == nil {
		t.Error("a directory was created inside the repository")
	}
}
