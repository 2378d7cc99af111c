package ingest

import (
	"testing"
	"time"

	"github.com/veripost/veripost/internal/catalog"
)

func TestJustAccepted(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		uploaded time.Time
		want     bool
	}{
		{"moments ago", now.Add(-200 * time.Millisecond), true},
		{"a worker clock a little behind", now.Add(2 * time.Second), true},
		{"two minutes ago (a retry, a re-index)", now.Add(-2 * time.Minute), false},
		{"far in the future", now.Add(time.Hour), false},
		{"unknown", time.Time{}, false},
	} {
		if got := justAccepted(catalog.Version{UploadedAt: tc.uploaded}, now); got != tc.want {
			t.Errorf("%s: justAccepted = %v, want %v", tc.name, got, tc.want)
		}
	}
}
