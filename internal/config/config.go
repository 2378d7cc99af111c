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

	ListenAddr string `env:"VERIPOST_LISTEN_ADDR" envDefault:"127.0.0.1:8080"`
	// HTTP server timeouts: for a request's headers to arrive, for the
	// longest pause while its body arrives, and for an idle keep-alive
	// connection.
	ReadHeaderTimeout time.Duration `env:"VERIPOST_READ_HEADER_TIMEOUT" envDefault:"10s"`
	ReadBodyTimeout   time.Duration `env:"VERIPOST_READ_BODY_TIMEOUT" envDefault:"30s"`
	IdleTimeout       time.Duration `env:"VERIPOST_IDLE_TIMEOUT" envDefault:"2m"`
	ShutdownTimeout   time.Duration `env:"VERIPOST_SHUTDOWN_TIMEOUT" envDefault:"20s"`
	LogLevel          string        `env:"VERIPOST_LOG_LEVEL" envDefault:"info"`
	LogFormat         string        `env:"VERIPOST_LOG_FORMAT" envDefault:"text"`

	// AutoMigrate runs database migrations when serve or worker starts.
	AutoMigrate bool `env:"VERIPOST_AUTO_MIGRATE" envDefault:"true"`
	// Workers: ingestion jobs worked at once by this process. 0 disables
	// in-process workers in `serve` (scaled deployments run `veripost worker`).
	Workers int `env:"VERIPOST_WORKERS" envDefault:"4"`
	// SearchWorkers: search indexing jobs worked at once by a process
	// that works jobs (indexing runs after ready, on a queue of its own).
	SearchWorkers int `env:"VERIPOST_SEARCH_WORKERS" envDefault:"2"`
	// Analysis limits per file: more lines, or more findings, end the
	// version in error instead of holding a worker and the database.
	IngestMaxLines       int `env:"VERIPOST_INGEST_MAX_LINES" envDefault:"200000"`
	IngestMaxDiagnostics int `env:"VERIPOST_INGEST_MAX_DIAGNOSTICS" envDefault:"20000"`
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
	// LLM copilot (see internal/llm). LLMProvider empty keeps it off.
	LLMProvider string `env:"VERIPOST_LLM_PROVIDER"`
	LLMBaseURL  string `env:"VERIPOST_LLM_BASE_URL"`
	LLMModel    string `env:"VERIPOST_LLM_MODEL"`
	LLMAPIKey   string `env:"VERIPOST_LLM_API_KEY"`
	// LLMTimeout bounds a whole answer; LLMIdleTimeout the wait for the
	// provider's first byte and the silence between two stream events.
	LLMTimeout      time.Duration `env:"VERIPOST_LLM_TIMEOUT" envDefault:"2m"`
	LLMIdleTimeout  time.Duration `env:"VERIPOST_LLM_IDLE_TIMEOUT" envDefault:"30s"`
	LLMMaxOutput    int           `env:"VERIPOST_LLM_MAX_OUTPUT_TOKENS" envDefault:"1500"`
	LLMContextLimit int           `env:"VERIPOST_LLM_CONTEXT_TOKENS" envDefault:"16000"`
	// LLMMonthlyTokens caps input+output tokens per calendar month (UTC);
	// 0 means no cap.
	LLMMonthlyTokens int64 `env:"VERIPOST_LLM_MONTHLY_TOKENS" envDefault:"2000000"`
	// Prices in US dollars per million tokens; 0 means unknown (no cost shown).
	LLMPriceInput  float64 `env:"VERIPOST_LLM_PRICE_INPUT" envDefault:"0"`
	LLMPriceOutput float64 `env:"VERIPOST_LLM_PRICE_OUTPUT" envDefault:"0"`

	// Identity and access (see internal/auth and the README's
	// Authentication section).
	AnonymousRead      bool          `env:"VERIPOST_ANONYMOUS_READ" envDefault:"false"`
	PasswordLogin      bool          `env:"VERIPOST_PASSWORD_LOGIN" envDefault:"true"`
	SessionIdleTimeout time.Duration `env:"VERIPOST_SESSION_IDLE_TIMEOUT" envDefault:"1h"`
	SessionMaxAge      time.Duration `env:"VERIPOST_SESSION_MAX_AGE" envDefault:"12h"`
	SecureCookies      string        `env:"VERIPOST_SECURE_COOKIES" envDefault:"auto"`
	TrustProxy         bool          `env:"VERIPOST_TRUST_PROXY" envDefault:"false"`
	TrustedOrigins     []string      `env:"VERIPOST_TRUSTED_ORIGINS" envSeparator:","`
	LoginMaxFailures   int           `env:"VERIPOST_LOGIN_MAX_FAILURES" envDefault:"5"`
	LoginMaxFailuresIP int           `env:"VERIPOST_LOGIN_MAX_FAILURES_PER_ADDRESS" envDefault:"20"`
	LoginLockout       time.Duration `env:"VERIPOST_LOGIN_LOCKOUT" envDefault:"15m"`
	SetupTokenTTL      time.Duration `env:"VERIPOST_SETUP_TOKEN_TTL" envDefault:"1h"`
	TokenDefaultExpiry time.Duration `env:"VERIPOST_TOKEN_DEFAULT_EXPIRY" envDefault:"2160h"`
	OIDCIssuer         string        `env:"VERIPOST_OIDC_ISSUER"`
	OIDCClientID       string        `env:"VERIPOST_OIDC_CLIENT_ID"`
	OIDCClientSecret   string        `env:"VERIPOST_OIDC_CLIENT_SECRET"`
	OIDCRedirectURL    string        `env:"VERIPOST_OIDC_REDIRECT_URL"`
	OIDCScopes         []string      `env:"VERIPOST_OIDC_SCOPES" envSeparator:" " envDefault:"openid profile email"`
	OIDCUsernameClaim  string        `env:"VERIPOST_OIDC_USERNAME_CLAIM" envDefault:"preferred_username"`
	OIDCRoleClaim      string        `env:"VERIPOST_OIDC_ROLE_CLAIM" envDefault:"groups"`
	OIDCRoleMap        string        `env:"VERIPOST_OIDC_ROLE_MAP"`
	OIDCDefaultRole    string        `env:"VERIPOST_OIDC_DEFAULT_ROLE"`
	OIDCDisplayName    string        `env:"VERIPOST_OIDC_NAME" envDefault:"single sign-on"`
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
	case c.SearchWorkers < 1:
		return fmt.Errorf("VERIPOST_SEARCH_WORKERS must be at least 1, got %d", c.SearchWorkers)
	case c.JobMaxAttempts < 1:
		return fmt.Errorf("VERIPOST_JOB_MAX_ATTEMPTS must be at least 1, got %d", c.JobMaxAttempts)
	case c.IngestMaxLines < 0 || c.IngestMaxDiagnostics < 0:
		return fmt.Errorf("VERIPOST_INGEST_MAX_LINES and VERIPOST_INGEST_MAX_DIAGNOSTICS must not be negative (0 means no limit)")
	case c.ReadHeaderTimeout <= 0 || c.ReadBodyTimeout <= 0 || c.IdleTimeout <= 0:
		return fmt.Errorf("VERIPOST_READ_HEADER_TIMEOUT, VERIPOST_READ_BODY_TIMEOUT and VERIPOST_IDLE_TIMEOUT must be positive durations (like 30s)")
	case c.SearchLexicalWeight < 0 || c.SearchVectorWeight < 0 || c.SearchLexicalWeight+c.SearchVectorWeight == 0:
		return fmt.Errorf("VERIPOST_SEARCH_LEXICAL_WEIGHT and VERIPOST_SEARCH_VECTOR_WEIGHT must not be negative, and not both 0 (got %g and %g)", c.SearchLexicalWeight, c.SearchVectorWeight)
	case c.SearchRRFK <= 0:
		return fmt.Errorf("VERIPOST_SEARCH_RRF_K must be above 0, got %g", c.SearchRRFK)
	case c.SessionIdleTimeout <= 0 || c.SessionMaxAge <= 0:
		return fmt.Errorf("VERIPOST_SESSION_IDLE_TIMEOUT and VERIPOST_SESSION_MAX_AGE must be positive durations such as 1h")
	case c.LoginMaxFailures < 1 || c.LoginMaxFailuresIP < 1 || c.LoginLockout <= 0:
		return fmt.Errorf("VERIPOST_LOGIN_MAX_FAILURES, VERIPOST_LOGIN_MAX_FAILURES_PER_ADDRESS and VERIPOST_LOGIN_LOCKOUT must be positive")
	case c.SecureCookies != "auto" && c.SecureCookies != "true" && c.SecureCookies != "false":
		return fmt.Errorf("VERIPOST_SECURE_COOKIES must be auto, true or false, got %q", c.SecureCookies)
	case (c.OIDCIssuer == "") != (c.OIDCClientID == ""):
		return fmt.Errorf("single sign-on needs both VERIPOST_OIDC_ISSUER and VERIPOST_OIDC_CLIENT_ID")
	case !c.PasswordLogin && c.OIDCIssuer == "":
		return fmt.Errorf("VERIPOST_PASSWORD_LOGIN=false needs single sign-on (VERIPOST_OIDC_ISSUER), or nobody could sign in")
	}
	return c.validateLLM()
}

func (c Config) validateLLM() error {
	switch c.LLMProvider {
	case "":
		return nil
	case "anthropic", "openai":
	default:
		return fmt.Errorf("VERIPOST_LLM_PROVIDER must be anthropic, openai or empty (off), got %q", c.LLMProvider)
	}
	switch {
	case c.LLMModel == "":
		return fmt.Errorf("VERIPOST_LLM_MODEL must name a model when VERIPOST_LLM_PROVIDER is %s", c.LLMProvider)
	case c.LLMTimeout <= 0 || c.LLMIdleTimeout <= 0:
		return fmt.Errorf("VERIPOST_LLM_TIMEOUT and VERIPOST_LLM_IDLE_TIMEOUT must be positive, got %s and %s", c.LLMTimeout, c.LLMIdleTimeout)
	case c.LLMMaxOutput < 1:
		return fmt.Errorf("VERIPOST_LLM_MAX_OUTPUT_TOKENS must be at least 1, got %d", c.LLMMaxOutput)
	case c.LLMContextLimit < 1:
		return fmt.Errorf("VERIPOST_LLM_CONTEXT_TOKENS must be at least 1, got %d", c.LLMContextLimit)
	case c.LLMMonthlyTokens < 0:
		return fmt.Errorf("VERIPOST_LLM_MONTHLY_TOKENS must not be negative (0 means no cap), got %d", c.LLMMonthlyTokens)
	case c.LLMPriceInput < 0 || c.LLMPriceOutput < 0:
		return fmt.Errorf("VERIPOST_LLM_PRICE_INPUT and VERIPOST_LLM_PRICE_OUTPUT must not be negative")
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
