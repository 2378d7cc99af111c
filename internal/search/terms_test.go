package search

import (
	"reflect"
	"testing"
)

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"SPINDLE_DIR=MC(M_SPIN_CW)", []string{"spindle_dir", "mc", "m_spin_cw"}},
		{"* set the Spindle", []string{"set", "the", "spindle"}},
		{"G91.1 Z0.", []string{"g91", "1", "z0"}},
		{"Düse öffnen", []string{"düse", "öffnen"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := Words(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParts(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"spindle_dir", []string{"spindle", "dir"}},
		{"4axis_x_milling", []string{"4axis", "axis", "milling"}},
		{"using_4th_axis", []string{"using", "4th", "th", "axis"}},
		{"g43", []string{"43"}},
		{"spindle", nil},
		{"m06", []string{"06"}},
	}
	for _, tt := range tests {
		if got := Parts(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parts(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIdentTerm(t *testing.T) {
	for in, want := range map[string]string{"MACHINE NAME": "machine_name", " coolant  type ": "coolant_type", "SPINDLE_DIR": "spindle_dir"} {
		if got := IdentTerm(in); got != want {
			t.Errorf("IdentTerm(%q) = %q, want %q", in, got, want)
		}
	}
}
