// Package testdb reads the database of a test root through the real
// libalpm, for the tests of the packages that work on its plain values.
package testdb

import (
	"testing"

	"github.com/pactidy/pactidy/alpm"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
)

// Load reads pacman.conf at config with o and the whole local database
// (file lists included), failing the test on any error.
func Load(t testing.TB, config string, o conf.Overrides) (*conf.Config, *pkg.DB) {
	t.Helper()
	cfg, err := conf.Load(config, o)
	if err != nil {
		t.Fatal(err)
	}
	h, err := alpm.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	db, err := h.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cfg, db
}
