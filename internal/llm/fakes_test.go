package llm_test

// The local providers these tests talk to are in internal/llm/llmtest,
// shared with the API, web and command-line tests.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veripost/veripost/internal/llm"
	"github.com/veripost/veripost/internal/llm/llmtest"
)

const testKey = llmtest.Key

type (
	fake = llmtest.Fake
	sse  = llmtest.SSE
)

func newFake(t testing.TB, kind string, play func(s *sse)) *fake { return llmtest.New(t, kind, play) }

// source reads a testdata file as one Source.
func source(t testing.TB, name string) llm.Source {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	return llm.Source{ID: "file-" + name, File: name, FirstLine: 1, Lines: lines}
}
