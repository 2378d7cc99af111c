package resilience

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Build compiles cmd/veripost of the repository at root into dir and
// returns the binary's path.
func Build(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "veripost")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/veripost")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building veripost: %w\n%s", err, out)
	}
	return bin, nil
}

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
	cmd.Env = append(os.Environ(), "VERIPOST_DATA_DIR="+e.DataDir, "VERIPOST_DATABASE_URL="+e.DatabaseURL, "VERIPOST_BLOB_URL="+e.BlobURL,
		"VERIPOST_LOG_LEVEL=warn", "VERIPOST_SHUTDOWN_TIMEOUT=5s")
	for k, v := range e.Vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
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
