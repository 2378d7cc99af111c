//go:build unix

package testenv

import (
	"syscall"
	"time"
)

// CPUTime is the process's user+system CPU time. Benchmarks report it per
// operation next to ns/op because the machines they run on are shared: wall
// time inflates with other load, CPU time much less.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
