package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestReadmeDocumentsEveryVariable keeps the README's configuration table
// in step with the Config struct.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeOf(Config{})
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := f.Tag.Get("env")
		if name == "" {
			continue
		}
		row := "| `" + name + "` |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README has no configuration row for %s", name)
			continue
		}
		if def := f.Tag.Get("envDefault"); def != "" && !strings.Contains(string(readme), row+" `"+def+"`") {
			t.Errorf("README's default for %s is not `%s`", name, def)
		}
	}
}

func TestDefaultsAndValidation(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]string
		ok   bool
	}{
		{"defaults", map[string]string{}, true},
		{"pool size zero", map[string]string{"VERIPOST_DB_POOL_SIZE": "0"}, false},
		{"negative workers", map[string]string{"VERIPOST_WORKERS": "-1"}, false},
		{"not a number", map[string]string{"VERIPOST_MAX_FILES": "many"}, false},
		{"no attempts", map[string]string{"VERIPOST_JOB_MAX_ATTEMPTS": "0"}, false},
		{"llm on", map[string]string{"VERIPOST_LLM_PROVIDER": "anthropic", "VERIPOST_LLM_MODEL": "m"}, true},
		{"llm openai", map[string]string{"VERIPOST_LLM_PROVIDER": "openai", "VERIPOST_LLM_MODEL": "m", "VERIPOST_LLM_MONTHLY_TOKENS": "0"}, true},
		{"llm unknown provider", map[string]string{"VERIPOST_LLM_PROVIDER": "gemini", "VERIPOST_LLM_MODEL": "m"}, false},
		{"llm without model", map[string]string{"VERIPOST_LLM_PROVIDER": "openai"}, false},
		{"llm zero timeout", map[string]string{"VERIPOST_LLM_PROVIDER": "openai", "VERIPOST_LLM_MODEL": "m", "VERIPOST_LLM_TIMEOUT": "0s"}, false},
		{"llm negative budget", map[string]string{"VERIPOST_LLM_PROVIDER": "openai", "VERIPOST_LLM_MODEL": "m", "VERIPOST_LLM_MONTHLY_TOKENS": "-1"}, false},
		{"llm negative price", map[string]string{"VERIPOST_LLM_PROVIDER": "openai", "VERIPOST_LLM_MODEL": "m", "VERIPOST_LLM_PRICE_OUTPUT": "-3"}, false},
		{"llm off ignores the rest", map[string]string{"VERIPOST_LLM_MODEL": "", "VERIPOST_LLM_TIMEOUT": "0s"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadFrom(c.vars)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
		})
	}
	cfg, _ := LoadFrom(map[string]string{"VERIPOST_DATA_DIR": "/srv/vp"})
	if cfg.Database() != "sqlite:///srv/vp/veripost.db" || cfg.Blob() != "file:///srv/vp/blobs" {
		t.Fatalf("derived URLs: %s %s", cfg.Database(), cfg.Blob())
	}
}
