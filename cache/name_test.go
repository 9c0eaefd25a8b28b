package cache

import "testing"

func TestParseName(t *testing.T) {
	tests := []struct {
		file                string
		name, version, arch string
		ok                  bool
	}{
		{"foo-1.0-1-x86_64.pkg.tar.zst", "foo", "1.0-1", "x86_64", true},
		{"foo-1.0-1-any.pkg.tar.xz", "foo", "1.0-1", "any", true},
		{"foo-1.0-1-x86_64.pkg.tar", "foo", "1.0-1", "x86_64", true},
		{"python-foo-bar-2.3.4-1-any.pkg.tar.zst", "python-foo-bar", "2.3.4-1", "any", true},
		{"lib32-glibc-2.39+r52+gf8e4623421-1-x86_64.pkg.tar.zst", "lib32-glibc", "2.39+r52+gf8e4623421-1", "x86_64", true},
		{"go-2:1.22.1-1-x86_64.pkg.tar.zst", "go", "2:1.22.1-1", "x86_64", true},
		{"foo-1.0rc1-1-x86_64.pkg.tar.zst", "foo", "1.0rc1-1", "x86_64", true},
		{"foo-1.0-1.1-x86_64.pkg.tar.zst", "foo", "1.0-1.1", "x86_64", true},
		{"foo-bar-1-1-x86_64_v3.pkg.tar.zst", "foo-bar", "1-1", "x86_64_v3", true},

		{"foo.pkg.tar.zst", "", "", "", false},
		{"foo-x86_64.pkg.tar.zst", "", "", "", false},
		{"foo-1.0-x86_64.pkg.tar.zst", "", "", "", false}, // no name: "foo" would be the pkgver
		{"foo-1.0-rc-x86_64.pkg.tar.zst", "", "", "", false},
		{"foo-1.0-1.-x86_64.pkg.tar.zst", "", "", "", false},
		{"foo-a:1.0-1-x86_64.pkg.tar.zst", "", "", "", false},
		{"foo-:1.0-1-x86_64.pkg.tar.zst", "", "", "", false},
		{"foo-1.0-1-.pkg.tar.zst", "", "", "", false},
		{"foo-1.0-1-x86_64.pkg.tar.zst.sig", "", "", "", false},
		{"foo-1.0-1-x86_64.pkg.tar.zst.part", "", "", "", false},
		{"foo-1.0-1-x86_64.pkg.tar.", "", "", "", false},
		{"foo-1.0-1-x86_64.pkg.tarball", "", "", "", false},
		{"-1.0-1-x86_64.pkg.tar.zst", "", "", "", false},
		// Copies next to a package are not a second compression of it.
		{"foo-1.0-1-x86_64.pkg.tar.zst~", "", "", "", false},
		{"foo-1.0-1-x86_64.pkg.tar.zst-old", "", "", "", false},
		{"foo-1.0-1-x86_64.pkg.tar.Z", "foo", "1.0-1", "x86_64", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			n, ok := ParseName(tt.file)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tt.ok, n)
			}
			if !ok {
				return
			}
			if n.Name != tt.name || n.Version != tt.version || n.Arch != tt.arch {
				t.Errorf("got %q %q %q, want %q %q %q", n.Name, n.Version, n.Arch, tt.name, tt.version, tt.arch)
			}
			if n.FileName() != tt.file {
				t.Errorf("FileName() = %q", n.FileName())
			}
		})
	}
}

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"30d", "720h0m0s", true},
		{"2w", "336h0m0s", true},
		{"12h", "12h0m0s", true},
		{"1.5d", "36h0m0s", true},
		{"90m", "1h30m0s", true},
		{"0", "0s", true},
		{"", "0s", true},
		{"-1d", "", false},
		{"30 days", "", false},
		{"d", "", false},
		{"1y", "", false},
		// NaN and ages past time.Duration's range used to become a
		// negative duration, i.e. no minimum age at all.
		{"nand", "", false},
		{"NaNw", "", false},
		{"infd", "", false},
		{"20000w", "", false},
		{"1e5w", "", false},
		{"100000d", "2400000h0m0s", true},
	}
	for _, tt := range tests {
		d, err := ParseAge(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseAge(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && d.String() != tt.want {
			t.Errorf("ParseAge(%q) = %v, want %s", tt.in, d, tt.want)
		}
	}
}
