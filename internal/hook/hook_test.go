package hook

import (
	"reflect"
	"testing"

	"github.com/pactidy/pactidy/internal/pkg"
)

type orphan struct {
	name       string
	requiredBy []string
}

func split(os []orphan) ([]*pkg.Package, func(string) []string) {
	var pkgs []*pkg.Package
	req := map[string][]string{}
	for _, o := range os {
		pkgs = append(pkgs, &pkg.Package{Name: o.name, Version: "1-1"})
		req[o.name] = o.requiredBy
	}
	return pkgs, func(n string) []string { return req[n] }
}

// A new orphan that an older orphan still requires cannot be removed
// alone: pacman -Rns needs the older one too (and what requires that).
func TestNewOrphans(t *testing.T) {
	orphans, req := split([]orphan{
		{"gtk3", []string{"oldapp"}},
		{"cairo", []string{"gtk3"}},
		{"oldapp", []string{"olderapp"}},
		{"olderapp", nil},
		{"stale", nil},
		{"freshlib", nil},
	})
	got, remove := newOrphans(orphans, []string{"oldapp", "olderapp", "stale", "gone"}, req)
	var names []string
	for _, o := range got {
		names = append(names, o.Name)
	}
	if want := []string{"gtk3", "cairo", "freshlib"}; !reflect.DeepEqual(names, want) {
		t.Errorf("new orphans %q, want %q", names, want)
	}
	if want := []string{"cairo", "freshlib", "gtk3", "oldapp", "olderapp"}; !reflect.DeepEqual(remove, want) {
		t.Errorf("remove %q, want %q", remove, want)
	}
	if got, remove := newOrphans(orphans[:2], []string{"gtk3", "cairo"}, req); len(got) != 0 || len(remove) != 0 {
		t.Errorf("nothing new: %v %q", got, remove)
	}
}
