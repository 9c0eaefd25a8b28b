package scan

import (
	"fmt"
	"path"
	"strings"

	"github.com/pactidy/pactidy/internal/pkg"
)

// Rule hides unowned paths that installed packages generate after
// installation (caches, keys, enablement links). Rules only look at paths
// no package owns; a rule that matches a directory hides its subtree.
type Rule struct {
	Name string
	Doc  string
	// match gets rel without leading or trailing '/' and the entry type.
	match func(c *ruleCtx, rel, typ string) bool
}

type ruleCtx struct {
	owned   *OwnedSet
	kernels map[string]bool
	// backup holds the backup files of installed packages, relative.
	backup map[string]bool
}

// Rules lists the built-in rules, all on by default.
var Rules = []Rule{
	{"kernel-modules", "depmod output (modules.* at the top of /usr/lib/modules/VERSION/ of an installed kernel) and the out-of-tree module directories there (updates/, extramodules/, extra/, dkms/)", matchKernelModules},
	{"initramfs", "/boot/initramfs-KERNEL[-fallback].img, /boot/booster-KERNEL.img and /boot/vmlinuz-KERNEL of installed kernels", matchInitramfs},
	{"pycache", "__pycache__/NAME.*.pyc beside an owned NAME.py", matchPycache},
	{"icon-cache", "/usr/share/icons/THEME/icon-theme.cache", matchIconCache},
	{"gio-caches", "GIO module cache and compiled GSettings schemas", matchGIO},
	{"gtk-caches", "gdk-pixbuf loaders.cache and GTK immodules.cache", matchGTK},
	{"fontconfig", "fontconfig and mkfontdir files in font directories (.uuid, fonts.dir, fonts.scale), /var/cache/fontconfig", matchFontconfig},
	{"mime-database", "the shared MIME database built in /usr/share/mime (all but packages/)", matchMime},
	{"desktop-database", "/usr/share/applications/mimeinfo.cache", ruleExact("usr/share/applications/mimeinfo.cache")},
	{"ld-so-cache", "/etc/ld.so.cache", ruleExact("etc/ld.so.cache")},
	{"ca-certificates", "/etc/ssl/certs and /etc/ca-certificates/extracted", ruleSubtrees("etc/ssl/certs", "etc/ca-certificates/extracted")},
	{"locale-archive", "compiled locales in /usr/lib/locale (locale-archive)", ruleSubtrees("usr/lib/locale")},
	{"machine-id", "/etc/machine-id and /var/lib/dbus/machine-id", ruleExact("etc/machine-id", "var/lib/dbus/machine-id")},
	{"ssh-host-keys", "/etc/ssh/ssh_host_*_key and .pub", matchSSHHostKeys},
	{"shadow-backups", "/etc/passwd-, shadow-, group-, gshadow- and .pwd.lock", ruleExact("etc/passwd-", "etc/shadow-", "etc/group-", "etc/gshadow-", "etc/.pwd.lock")},
	{"systemd-enablement", "links in /etc/systemd/{system,user}/*.wants, *.requires, *.upholds made by systemctl enable", matchSystemdLinks},
	{"udev-hwdb", "/etc/udev/hwdb.bin and /usr/lib/udev/hwdb.bin", ruleExact("etc/udev/hwdb.bin", "usr/lib/udev/hwdb.bin")},
	{"info-dir", "/usr/share/info/dir", ruleExact("usr/share/info/dir")},
	{"pacman-keyring", "/etc/pacman.d/gnupg, made by pacman-key", ruleSubtrees("etc/pacman.d/gnupg")},
	{"pacfiles", ".pacnew, .pacsave and .pacorig files under /etc and beside backup files: the pacfiles section reports them", matchPacfiles},
}

// RuleNames lists the names of the built-in rules.
func RuleNames() []string {
	out := make([]string, len(Rules))
	for i, r := range Rules {
		out[i] = r.Name
	}
	return out
}

type ruleSet struct {
	rules []Rule
	ctx   *ruleCtx
}

// newRuleSet returns the rules that are not disabled.
func newRuleSet(disabled []string) (*ruleSet, error) {
	off := map[string]bool{}
	for _, d := range disabled {
		if d == "all" {
			return &ruleSet{}, nil
		}
		found := false
		for _, r := range Rules {
			found = found || r.Name == d
		}
		if !found {
			return nil, fmt.Errorf("unknown rule %q (rules: %s)", d, strings.Join(RuleNames(), ", "))
		}
		off[d] = true
	}
	s := &ruleSet{}
	for _, r := range Rules {
		if !off[r.Name] {
			s.rules = append(s.rules, r)
		}
	}
	return s, nil
}

// CheckRules validates rule names as given to DisabledRules.
func CheckRules(disabled []string) error {
	_, err := newRuleSet(disabled)
	return err
}

func (s *ruleSet) bind(owned *OwnedSet, db *pkg.DB) *ruleSet {
	backup := map[string]bool{}
	for _, p := range db.Packages {
		for _, b := range p.Backup {
			backup[b.Path] = true
		}
	}
	return &ruleSet{rules: s.rules, ctx: &ruleCtx{owned: owned, kernels: installedKernels(db), backup: backup}}
}

// match returns the name of the first rule that hides rel, or "".
func (s *ruleSet) match(rel, typ string) string {
	for _, r := range s.rules {
		if r.match(s.ctx, rel, typ) {
			return r.Name
		}
	}
	return ""
}

// MatchRule is the rule check as the walk does it, for callers that test
// single paths: rel is relative to the root without leading or trailing
// '/'. It returns the hiding rule's name or "".
func MatchRule(db *pkg.DB, owned *OwnedSet, disabled []string, rel, typ string) (string, error) {
	s, err := newRuleSet(disabled)
	if err != nil {
		return "", err
	}
	return s.bind(owned, db).match(rel, typ), nil
}

// kernels are the names (and bases) of installed packages that ship a
// kernel image in a module tree, as Arch kernels do.
func installedKernels(db *pkg.DB) map[string]bool {
	out := map[string]bool{}
	for _, p := range db.Packages {
		for _, f := range p.Files {
			if strings.HasPrefix(f, "usr/lib/modules/") && strings.HasSuffix(f, "/vmlinuz") && strings.Count(f, "/") == 4 {
				out[p.Name] = true
				if p.Base != "" {
					out[p.Base] = true
				}
				break
			}
		}
	}
	return out
}

func ruleExact(paths ...string) func(*ruleCtx, string, string) bool {
	return func(_ *ruleCtx, rel, _ string) bool {
		for _, p := range paths {
			if rel == p {
				return true
			}
		}
		return false
	}
}

func ruleSubtrees(dirs ...string) func(*ruleCtx, string, string) bool {
	return func(_ *ruleCtx, rel, _ string) bool {
		for _, d := range dirs {
			if rel == d || strings.HasPrefix(rel, d+"/") {
				return true
			}
		}
		return false
	}
}

// matchKernelModules hides what is made after a kernel is installed in
// its module tree: depmod's modules.* files at the top, and the
// directories out-of-tree modules (DKMS, extramodules packages) go to.
// Anything else there (kernel/foo.bak, an editor's leftover in build/)
// is reported.
func matchKernelModules(c *ruleCtx, rel, _ string) bool {
	rest, ok := strings.CutPrefix(rel, "usr/lib/modules/")
	if !ok {
		return false
	}
	ver, inside, ok := strings.Cut(rest, "/")
	if !ok || !c.owned.Has("usr/lib/modules/"+ver) {
		return false
	}
	top, _, sub := strings.Cut(inside, "/")
	switch top {
	case "updates", "extramodules", "extra", "dkms":
		return true
	}
	return !sub && strings.HasPrefix(top, "modules.")
}

// matchPacfiles hides what Pacfiles reports, so that a file is reported
// once: every pacfile under /etc, and elsewhere the pacfiles of backup
// files.
func matchPacfiles(c *ruleCtx, rel, typ string) bool {
	if typ == TypeDir {
		return false
	}
	_, orig, ok := pacfileKind(rel)
	return ok && (strings.HasPrefix(rel, "etc/") || c.backup[orig])
}

func matchInitramfs(c *ruleCtx, rel, _ string) bool {
	name, ok := strings.CutPrefix(rel, "boot/")
	if !ok || strings.Contains(name, "/") {
		return false
	}
	var k string
	switch {
	case strings.HasPrefix(name, "vmlinuz-"):
		k = name[len("vmlinuz-"):]
	case strings.HasPrefix(name, "initramfs-") && strings.HasSuffix(name, "-fallback.img"):
		k = strings.TrimSuffix(name[len("initramfs-"):], "-fallback.img")
	case strings.HasPrefix(name, "initramfs-") && strings.HasSuffix(name, ".img"):
		k = strings.TrimSuffix(name[len("initramfs-"):], ".img")
	case strings.HasPrefix(name, "booster-") && strings.HasSuffix(name, ".img"):
		k = strings.TrimSuffix(name[len("booster-"):], ".img")
	default:
		return false
	}
	return c.kernels[k]
}

func matchPycache(c *ruleCtx, rel, typ string) bool {
	dir, file := path.Split(rel)
	parent, ok := strings.CutSuffix(dir, "/__pycache__/")
	if !ok {
		if dir != "__pycache__/" {
			return false
		}
		parent = ""
	}
	if typ != TypeFile || !strings.HasSuffix(file, ".pyc") {
		return false
	}
	stem, _, ok := strings.Cut(file, ".")
	if !ok || stem == "" {
		return false
	}
	if parent != "" {
		parent += "/"
	}
	return c.owned.Has(parent + stem + ".py")
}

func matchIconCache(_ *ruleCtx, rel, _ string) bool {
	rest, ok := strings.CutPrefix(rel, "usr/share/icons/")
	if !ok {
		return false
	}
	theme, file, ok := strings.Cut(rest, "/")
	return ok && theme != "" && file == "icon-theme.cache"
}

func matchGIO(_ *ruleCtx, rel, _ string) bool {
	return rel == "usr/lib/gio/modules/giomodule.cache" ||
		rel == "usr/lib32/gio/modules/giomodule.cache" ||
		rel == "usr/share/glib-2.0/schemas/gschemas.compiled"
}

func matchGTK(_ *ruleCtx, rel, _ string) bool {
	m1, _ := path.Match("usr/lib*/gdk-pixbuf-2.0/*/loaders.cache", rel)
	m2, _ := path.Match("usr/lib*/gtk-[234].0/*/immodules.cache", rel)
	return m1 || m2
}

func matchFontconfig(_ *ruleCtx, rel, _ string) bool {
	if rel == "var/cache/fontconfig" || strings.HasPrefix(rel, "var/cache/fontconfig/") {
		return true
	}
	if !strings.HasPrefix(rel, "usr/share/fonts/") {
		return false
	}
	base := path.Base(rel)
	return base == ".uuid" || base == "fonts.dir" || base == "fonts.scale" || strings.HasPrefix(base, "fonts.cache-")
}

func matchMime(_ *ruleCtx, rel, _ string) bool {
	rest, ok := strings.CutPrefix(rel, "usr/share/mime/")
	return ok && rest != "packages" && !strings.HasPrefix(rest, "packages/")
}

func matchSSHHostKeys(_ *ruleCtx, rel, typ string) bool {
	name, ok := strings.CutPrefix(rel, "etc/ssh/")
	if !ok || typ != TypeFile {
		return false
	}
	name = strings.TrimSuffix(name, ".pub")
	return strings.HasPrefix(name, "ssh_host_") && strings.HasSuffix(name, "_key") && !strings.Contains(name, "/")
}

func matchSystemdLinks(_ *ruleCtx, rel, typ string) bool {
	if typ != TypeSymlink {
		return false
	}
	var rest string
	for _, p := range []string{"etc/systemd/system/", "etc/systemd/user/"} {
		if r, ok := strings.CutPrefix(rel, p); ok {
			rest = r
		}
	}
	dir, _ := path.Split(rest)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return false
	}
	for _, suf := range []string{".wants", ".requires", ".upholds"} {
		if strings.HasSuffix(dir, suf) && !strings.Contains(dir, "/") {
			return true
		}
	}
	return false
}
