// Package config reads VeriPost's settings from VERIPOST_* environment
// variables. Every variable has a default that gives the embedded
// deployment, so `veripost serve` works with no configuration at all.
package config

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the whole runtime configuration. The env tags are the single
// source of truth for variable names and defaults; the README table mirrors
// them and a test keeps the two in step.
type Config struct {
	// DataDir holds the SQLite file and the local blob folder of the
	// embedded deployment.
	DataDir string `env:"VERIPOST_DATA_DIR" envDefault:"./data"`
	// DatabaseURL: empty means SQLite at DataDir/veripost.db; otherwise
	// sqlite:///path/file.db or postgres://user:pass@host:port/db.
	DatabaseURL string `env:"VERIPOST_DATABASE_URL"`
	// BlobURL: empty means file://DataDir/blobs; otherwise file:///abs/dir or
	// s3://bucket?endpoint=…&region=…&use_path_style=true.
	BlobURL string `env:"VERIPOST_BLOB_URL"`

	ListenAddr      string        `env:"VERIPOST_LISTEN_ADDR" envDefault:"127.0.0.1:8080"`
	ShutdownTimeout time.Duration `env:"VERIPOST_SHUTDOWN_TIMEOUT" envDefault:"20s"`
	LogLevel        string        `env:"VERIPOST_LOG_LEVEL" envDefault:"info"`
	LogFormat       string        `env:"VERIPOST_LOG_FORMAT" envDefault:"text"`

	// AutoMigrate runs database migrations when serve or worker starts.
	AutoMigrate bool `env:"VERIPOST_AUTO_MIGRATE" envDefault:"true"`
	// Workers: ingestion jobs worked at once by this process. 0 disables
	// in-process workers in `serve` (scaled deployments run `veripost worker`).
	Workers int `env:"VERIPOST_WORKERS" envDefault:"4"`
	// JobMaxAttempts bounds retries of a failing ingestion job.
	JobMaxAttempts int `env:"VERIPOST_JOB_MAX_ATTEMPTS" envDefault:"5"`

	// DBPoolSize and DBPoolOverflow: open connections kept idle, and how many
	// more may be opened under load (PostgreSQL; SQLite always uses one).
	DBPoolSize     int `env:"VERIPOST_DB_POOL_SIZE" envDefault:"5"`
	DBPoolOverflow int `env:"VERIPOST_DB_POOL_OVERFLOW" envDefault:"10"`

	// Upload limits (see internal/upload).
	MaxRequestBytes     int64   `env:"VERIPOST_MAX_REQUEST_BYTES" envDefault:"67108864"`
	MaxFiles            int     `env:"VERIPOST_MAX_FILES" envDefault:"500"`
	MaxFileBytes        int64   `env:"VERIPOST_MAX_FILE_BYTES" envDefault:"33554432"`
	MaxTotalBytes       int64   `env:"VERIPOST_MAX_TOTAL_BYTES" envDefault:"268435456"`
	MaxCompressionRatio float64 `env:"VERIPOST_MAX_COMPRESSION_RATIO" envDefault:"100"`

	// Search ranking (internal/search): weights of the lexical and vector
	// rankings in the hybrid ranking's reciprocal rank fusion, and its k.
	SearchLexicalWeight float64 `env:"VERIPOST_SEARCH_LEXICAL_WEIGHT" envDefault:"1"`
	SearchVectorWeight  float64 `env:"VERIPOST_SEARCH_VECTOR_WEIGHT" envDefault:"0.5"`
	SearchRRFK          float64 `env:"VERIPOST_SEARCH_RRF_K" envDefault:"60"`
	// An optional external embeddings service (OpenAI-compatible
	// /v1/embeddings); empty URL: only the built-in structural embedding.
	EmbeddingsURL     string        `env:"VERIPOST_EMBEDDINGS_URL"`
	EmbeddingsModel   string        `env:"VERIPOST_EMBEDDINGS_MODEL" envDefault:"text-embedding-3-small"`
	EmbeddingsAPIKey  string        `env:"VERIPOST_EMBEDDINGS_API_KEY"`
	EmbeddingsTimeout time.Duration `env:"VERIPOST_EMBEDDINGS_TIMEOUT" envDefault:"30s"`
}

// Load reads the process environment.
func Load() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return c, fmt.Errorf("reading VERIPOST_* environment: %w", err)
	}
	return c, c.validate()
}

// LoadFrom reads the given variables instead of the process environment
// (tests, and defaults for tools).
func LoadFrom(vars map[string]string) (Config, error) {
	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: vars}); err != nil {
		return c, fmt.Errorf("reading VERIPOST_* settings: %w", err)
	}
	return c, c.validate()
}

func (c Config) validate() error {
	switch {
	case c.DBPoolSize < 1:
		return fmt.Errorf("VERIPOST_DB_POOL_SIZE must be at least 1, got %d", c.DBPoolSize)
	case c.DBPoolOverflow < 0:
		return fmt.Errorf("VERIPOST_DB_POOL_OVERFLOW must not be negative, got %d", c.DBPoolOverflow)
	case c.Workers < 0:
		return fmt.Errorf("VERIPOST_WORKERS must not be negative, got %d", c.Workers)
	case c.JobMaxAttempts < 1:
		return fmt.Errorf("VERIPOST_JOB_MAX_ATTEMPTS must be at least 1, got %d", c.JobMaxAttempts)
	case c.SearchLexicalWeight < 0 || c.SearchVectorWeight < 0 || c.SearchLexicalWeight+c.SearchVectorWeight == 0:
		return fmt.Errorf("VERIPOST_SEARCH_LEXICAL_WEIGHT and VERIPOST_SEARCH_VECTOR_WEIGHT must not be negative, and not both 0 (got %g and %g)", c.SearchLexicalWeight, c.SearchVectorWeight)
	case c.SearchRRFK <= 0:
		return fmt.Errorf("VERIPOST_SEARCH_RRF_K must be above 0, got %g", c.SearchRRFK)
	}
	return nil
}

// Database returns the effective database URL.
func (c Config) Database() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return "sqlite://" + filepath.ToSlash(filepath.Join(c.DataDir, "veripost.db"))
}

// Blob returns the effective blob store URL.
func (c Config) Blob() string {
	if c.BlobURL != "" {
		return c.BlobURL
	}
	abs, err := filepath.Abs(filepath.Join(c.DataDir, "blobs"))
	if err != nil {
		abs = filepath.Join(c.DataDir, "blobs")
	}
	return "file://" + filepath.ToSlash(abs)
}
