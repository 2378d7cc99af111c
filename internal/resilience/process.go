package resilience

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/veripost/veripost/internal/auth"
	"github.com/veripost/veripost/internal/config"
	"github.com/veripost/veripost/internal/server"
)

// Env says how to run veripost processes: one deployment's settings.
type Env struct {
	Bin         string
	DataDir     string
	DatabaseURL string // empty: SQLite in DataDir
	BlobURL     string // empty: a folder in DataDir
	// Vars are more VERIPOST_* settings for every process.
	Vars map[string]string
	// Logs receives the processes' output.
	Logs io.Writer
	// Token is the API token the load and the checks send (SignIn).
	Token string
}

// SignIn creates an administrator and an API token for it straight on the
// deployment's database (migrating it, as the first start would), and keeps
// the token in e.Token. It runs in this process: two CLI runs would
// migrate twice and take seconds.
func (e *Env) SignIn(ctx context.Context) error {
	app, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer app.Close()
	ctx = auth.WithActor(ctx, auth.System("resilience"))
	if _, err := app.Auth.CreateUser(ctx, auth.NewUser{Username: "resilience", Role: auth.RoleAdmin}); err != nil {
		return err
	}
	t, err := app.Auth.CreateToken(ctx, auth.NewToken{Name: "resilience", Scope: auth.ScopeAdmin, Owner: "resilience"})
	if err != nil {
		return err
	}
	e.Token = t.Secret
	return nil
}

// open opens the deployment in this process, without workers.
func (e Env) open(ctx context.Context) (*server.App, error) {
	vars := map[string]string{"VERIPOST_DATA_DIR": e.DataDir, "VERIPOST_DATABASE_URL": e.DatabaseURL, "VERIPOST_BLOB_URL": e.BlobURL}
	for k, v := range e.Vars {
		vars[k] = v
	}
	cfg, err := config.LoadFrom(vars)
	if err != nil {
		return nil, err
	}
	return server.New(ctx, cfg, slog.New(slog.DiscardHandler), server.Options{Workers: 0, Version: "resilience"})
}

func (e Env) environ() []string {
	env := append(os.Environ(), "VERIPOST_DATA_DIR="+e.DataDir, "VERIPOST_DATABASE_URL="+e.DatabaseURL, "VERIPOST_BLOB_URL="+e.BlobURL,
		"VERIPOST_LOG_LEVEL=warn", "VERIPOST_SHUTDOWN_TIMEOUT=5s")
	for k, v := range e.Vars {
		env = append(env, k+"="+v)
	}
	return env
}

// Client is an HTTP client that sends the token.
func (e Env) Client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: bearer{e.Token}}
}

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// Proc is a running veripost process.
type Proc struct {
	Role string
	Addr string // host:port of its HTTP server
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error
}

// FreeAddr returns a free loopback address.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Start runs `veripost ROLE` (serve or worker) with workers ingestion
// workers, listening on addr (a free one when empty), and waits until it
// answers (serve: /readyz; worker: /healthz).
func (e Env) Start(ctx context.Context, role, addr string, workers int) (*Proc, error) {
	if addr == "" {
		var err error
		if addr, err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(e.Bin, role, "--addr", addr, "--workers", strconv.Itoa(workers))
	cmd.Env = e.environ()
	dieWithParent(cmd)
	if e.Logs != nil {
		cmd.Stdout, cmd.Stderr = e.Logs, e.Logs
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Role: role, Addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	path := "/readyz"
	if role == "worker" {
		path = "/healthz"
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("veripost %s exited: %v", role, p.err)
		case <-ctx.Done():
			p.Kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Kill()
			return nil, fmt.Errorf("veripost %s did not answer on %s", role, addr)
		}
	}
}

// URL is the process's base URL.
func (p *Proc) URL() string { return "http://" + p.Addr }

// Kill ends the process with SIGKILL (no shutdown at all) and waits.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop asks the process to shut down (SIGTERM) and waits.
func (p *Proc) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.Kill()
	}
}
