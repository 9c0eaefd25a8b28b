package pkg

import "testing"

func TestParseDep(t *testing.T) {
	tests := []struct {
		in   string
		want Dep
	}{
		{"foo", Dep{Name: "foo"}},
		{"foo>=1.2-3", Dep{Name: "foo", Mod: GE, Version: "1.2-3"}},
		{"foo<=1", Dep{Name: "foo", Mod: LE, Version: "1"}},
		{"foo=1:2", Dep{Name: "foo", Mod: EQ, Version: "1:2"}},
		{"foo>1", Dep{Name: "foo", Mod: GT, Version: "1"}},
		{"foo<1", Dep{Name: "foo", Mod: LT, Version: "1"}},
		{"libx.so=3-64", Dep{Name: "libx.so", Mod: EQ, Version: "3-64"}},
		{"bar: for the bar feature", Dep{Name: "bar", Desc: "for the bar feature"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := ParseDep(tt.in)
			if got != tt.want {
				t.Fatalf("ParseDep(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestSatisfiers(t *testing.T) {
	a := &Package{Name: "a", Version: "2.0-1", Provides: []Dep{ParseDep("sh"), ParseDep("liba=3")}}
	b := &Package{Name: "b", Version: "1:0.1-1", Provides: []Dep{ParseDep("sh")}}
	c := &Package{Name: "c", Version: "1.0-1", Provides: []Dep{ParseDep("libc")}}
	db := NewDB([]*Package{c, b, a})
	tests := []struct {
		dep  string
		want []string
	}{
		{"a", []string{"a"}},
		{"a>=2", []string{"a"}},
		{"a>2.0-1", nil},
		{"b>9", []string{"b"}}, // epoch wins
		{"sh", []string{"a", "b"}},
		{"liba>=3", []string{"a"}},
		{"liba>3", nil},
		{"libc>=1", nil}, // unversioned provision never satisfies a versioned dep
		{"libc", []string{"c"}},
		{"nothing", nil},
	}
	for _, tt := range tests {
		t.Run(tt.dep, func(t *testing.T) {
			var got []string
			for _, p := range db.Satisfiers(ParseDep(tt.dep)) {
				got = append(got, p.Name)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Satisfiers(%q) = %v, want %v", tt.dep, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("Satisfiers(%q) = %v, want %v", tt.dep, got, tt.want)
				}
			}
		})
	}
}
