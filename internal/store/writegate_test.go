package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// waitQueued waits until n transactions wait at the gate.
func waitQueued(t *testing.T, g *writeGate, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		g.mu.Lock()
		queued := len(g.waiting[writeForeground]) + len(g.waiting[writeBackground])
		g.mu.Unlock()
		if queued == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d transactions never queued at the gate", n)
}

func TestWriteGateOrder(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		arrive  []writeClass // in this order, while the writer is held
		wantRun []int        // the arrivals' indexes, in the order they get the writer
	}{
		{"foreground overtakes waiting background work", []writeClass{writeBackground, writeForeground, writeBackground, writeForeground}, []int{1, 3, 0, 2}},
		{"first come first served within a class", []writeClass{writeForeground, writeForeground, writeForeground}, []int{0, 1, 2}},
		{"background alone", []writeClass{writeBackground, writeBackground}, []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g writeGate
			if err := g.enter(ctx, writeForeground); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var ran []int
			var wg sync.WaitGroup
			for i, class := range tt.arrive {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := g.enter(ctx, class); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					ran = append(ran, i)
					mu.Unlock()
					g.leave()
				}()
				waitQueued(t, &g, i+1) // arrivals in a known order
			}
			g.leave()
			wg.Wait()
			if len(ran) != len(tt.wantRun) {
				t.Fatalf("ran %v, want %v", ran, tt.wantRun)
			}
			for i := range ran {
				if ran[i] != tt.wantRun[i] {
					t.Fatalf("ran %v, want %v", ran, tt.wantRun)
				}
			}
			if g.busy {
				t.Fatal("the gate is still busy after everyone left")
			}
		})
	}
}

// A waiter whose context ends leaves the queue, and the writer still goes
// to the next one.
func TestWriteGateCancel(t *testing.T) {
	var g writeGate
	if err := g.enter(context.Background(), writeForeground); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() { gaveUp <- g.enter(ctx, writeForeground) }()
	waitQueued(t, &g, 1)
	got := make(chan error)
	go func() { got <- g.enter(context.Background(), writeBackground) }()
	waitQueued(t, &g, 2)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v, want context.Canceled", err)
	}
	waitQueued(t, &g, 1)
	g.leave()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the writer never reached the remaining waiter")
	}
	g.leave()
	if g.busy {
		t.Fatal("the gate is still busy after everyone left")
	}
}

// Background work that has waited longer than backgroundPatience goes
// before foreground work that arrived later, so it is never starved.
func TestWriteGateBackgroundPatience(t *testing.T) {
	for _, tt := range []struct {
		name   string
		waited time.Duration
		first  writeClass
	}{
		{"within patience: foreground first", backgroundPatience / 2, writeForeground},
		{"past patience: background first", backgroundPatience + time.Second, writeBackground},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			clock := time.Unix(0, 0)
			g := writeGate{now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }}
			ctx := context.Background()
			if err := g.enter(ctx, writeForeground); err != nil {
				t.Fatal(err)
			}
			got := make(chan writeClass, 2)
			for i, class := range []writeClass{writeBackground, writeForeground} {
				go func() {
					if err := g.enter(ctx, class); err != nil {
						t.Error(err)
					}
					got <- class
					g.leave()
				}()
				waitQueued(t, &g, i+1)
			}
			mu.Lock()
			clock = clock.Add(tt.waited)
			mu.Unlock()
			g.leave()
			if first := <-got; first != tt.first {
				t.Fatalf("class %d got the writer first, want %d", first, tt.first)
			}
			<-got
		})
	}
}
