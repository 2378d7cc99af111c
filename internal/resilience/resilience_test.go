package resilience_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veripost/veripost/internal/cli"
	"github.com/veripost/veripost/internal/resilience"
	"github.com/veripost/veripost/internal/testenv"
)

// childEnv makes the test binary run as the veripost command.
const childEnv = "VERIPOST_RESILIENCE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(cli.Execute())
	}
	os.Exit(m.Run())
}

// long is set by VERIPOST_RESILIENCE=long (bash scripts/resilience.sh):
// the same scenarios for minutes instead of seconds.
var long = os.Getenv("VERIPOST_RESILIENCE") == "long"

func sizes() (failure, load resilience.Size) {
	if long {
		return resilience.Size{Uploaders: 20, Readers: 5, Before: 20 * time.Second, During: 15 * time.Second, After: 20 * time.Second},
			resilience.Size{Uploaders: 50, Readers: 10, Before: 60 * time.Second, After: 60 * time.Second}
	}
	return resilience.Size{Uploaders: 8, Readers: 2, Before: 1500 * time.Millisecond, During: 2 * time.Second, After: time.Second},
		resilience.Size{Uploaders: 50, Readers: 10, Before: 1500 * time.Millisecond, After: 1500 * time.Millisecond}
}

// TestResilience runs real veripost processes and breaks them: SIGKILL of
// `serve` and of a `worker` during concurrent uploads, database and
// object-store outages, and a load of 50 uploaders with readers. After
// each, every upload that got a 202 must end ready or in error with a
// message, every stored file must download byte for byte, no Idempotency-
// Key may have made two packages, and after the collector no blob may be
// an orphan (and fsck finds nothing else). The figures are printed.
func TestResilience(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs real processes")
	}
	ctx := context.Background()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The processes are this test binary run as veripost (see TestMain):
	// the same code as cmd/veripost, without building it again.
	child := map[string]string{childEnv: "1"}
	failure, load := sizes()
	logs := func(t *testing.T) *os.File {
		f, err := os.Create(t.TempDir() + "/processes.log")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				b, _ := os.ReadFile(f.Name())
				t.Logf("process output:\n%s", tail(string(b), 4000))
			}
			f.Close()
		})
		return f
	}
	signedIn := func(t *testing.T, e resilience.Env) resilience.Env {
		if err := e.SignIn(ctx); err != nil {
			t.Fatal(err)
		}
		return e
	}
	sqlite := func(t *testing.T) resilience.Env {
		return signedIn(t, resilience.Env{Bin: bin, Vars: child, DataDir: t.TempDir(), Logs: logs(t)})
	}
	postgres := func(t *testing.T) resilience.Env {
		return signedIn(t, resilience.Env{Bin: bin, Vars: child, DataDir: t.TempDir(), DatabaseURL: testenv.PostgresURL(t), BlobURL: testenv.S3(t).URL, Logs: logs(t)})
	}
	kill := func(t *testing.T, env resilience.Env) (resilience.Figures, error) {
		return resilience.KillServe(ctx, t.Name(), env, failure)
	}
	steady := func(t *testing.T, env resilience.Env) (resilience.Figures, error) {
		return resilience.Steady(ctx, t.Name(), env, load)
	}
	table := []struct {
		name string
		env  func(t *testing.T) resilience.Env
		run  func(t *testing.T, env resilience.Env) (resilience.Figures, error)
	}{
		{"sqlite/kill-serve", sqlite, kill},
		{"postgres/kill-serve", postgres, kill},
		{"postgres/kill-worker", postgres, func(t *testing.T, env resilience.Env) (resilience.Figures, error) {
			return resilience.KillWorker(ctx, t.Name(), env, failure)
		}},
		{"postgres/database-outage", postgres, func(t *testing.T, env resilience.Env) (resilience.Figures, error) {
			host, err := resilience.HostOf(env.DatabaseURL)
			if err != nil {
				return resilience.Figures{}, err
			}
			return resilience.Outage(ctx, t.Name(), env, host, func(e *resilience.Env, proxy string) {
				e.DatabaseURL = resilience.WithHost(e.DatabaseURL, proxy)
			}, failure)
		}},
		{"postgres/object-store-outage", postgres, func(t *testing.T, env resilience.Env) (resilience.Figures, error) {
			u, _ := url.Parse(env.BlobURL)
			endpoint := u.Query().Get("endpoint")
			host, err := resilience.HostOf(endpoint)
			if err != nil {
				return resilience.Figures{}, err
			}
			return resilience.Outage(ctx, t.Name(), env, host, func(e *resilience.Env, proxy string) {
				q := u.Query()
				q.Set("endpoint", resilience.WithHost(endpoint, proxy))
				u.RawQuery = q.Encode()
				e.BlobURL = u.String()
			}, failure)
		}},
		{"sqlite/load-50-uploaders", sqlite, steady},
		{"postgres/load-50-uploaders", postgres, steady},
	}
	var mu sync.Mutex
	var all []resilience.Figures
	// The group ends when all its (parallel) scenarios have.
	t.Run("scenario", func(t *testing.T) {
		for _, sc := range table {
			t.Run(sc.name, func(t *testing.T) {
				if !long {
					// Two at a time on two cores (go test -parallel):
					// the short form mostly waits on what it broke.
					t.Parallel()
				}
				e := sc.env(t)
				f, err := sc.run(t, e)
				if err != nil {
					t.Fatal(err)
				}
				// Jobs taken over, as the processes' logs say.
				if lf, ok := e.Logs.(*os.File); ok {
					b, _ := os.ReadFile(lf.Name())
					f.Rescued = strings.Count(string(b), "rescued a job whose")
				}
				mu.Lock()
				all = append(all, f)
				mu.Unlock()
				t.Log(f.String())
				if !f.OK() || f.Accepted == 0 || f.Ready == 0 {
					t.Errorf("promises broken or nothing happened: %s\n%s", f, strings.Join(f.Notes, "\n"))
				}
				// Work left by a failure is picked up within a minute.
				if f.Recovery > time.Minute {
					t.Errorf("uploads in flight at the failure took %s to end, more than a minute", f.Recovery)
				}
			})
		}
	})
	fmt.Println("resilience figures (" + map[bool]string{false: "short", true: "long"}[long] + " form):")
	for _, f := range all {
		fmt.Println("  " + f.String())
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
