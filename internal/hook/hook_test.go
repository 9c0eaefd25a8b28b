package hook

import (
	"reflect"
	"testing"

	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/scan"
)

func orphan(name string, requiredBy ...string) scan.Orphan {
	return scan.Orphan{Package: &pkg.Package{Name: name, Version: "1-1"}, RequiredBy: requiredBy}
}

// A new orphan that an older orphan still requires cannot be removed
// alone: pacman -Rns needs the older one too (and what requires that).
func TestNewOrphans(t *testing.T) {
	orphans := []scan.Orphan{
		orphan("gtk3", "oldapp"),
		orphan("cairo", "gtk3"),
		orphan("oldapp", "olderapp"),
		orphan("olderapp"),
		orphan("stale"),
		orphan("freshlib"),
	}
	got, remove := newOrphans(orphans, []string{"oldapp", "olderapp", "stale", "gone"})
	var names []string
	for _, o := range got {
		names = append(names, o.Package.Name)
	}
	if want := []string{"gtk3", "cairo", "freshlib"}; !reflect.DeepEqual(names, want) {
		t.Errorf("new orphans %q, want %q", names, want)
	}
	if want := []string{"cairo", "freshlib", "gtk3", "oldapp", "olderapp"}; !reflect.DeepEqual(remove, want) {
		t.Errorf("remove %q, want %q", remove, want)
	}
	if got, remove := newOrphans(orphans[:2], []string{"gtk3", "cairo"}); len(got) != 0 || len(remove) != 0 {
		t.Errorf("nothing new: %v %q", got, remove)
	}
}
