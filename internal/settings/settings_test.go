package settings

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pactidy/pactidy/internal/report"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	s, err := Load(filepath.Join(t.TempDir(), "absent.conf"), true)
	if err != nil {
		t.Fatal(err)
	}
	if s.File != "" {
		t.Errorf("File = %q for a file that does not exist", s.File)
	}
	want := Default()
	if !reflect.DeepEqual(s.Sections, report.AllSections) || s.Optional != "keep" || s.Keep != 3 ||
		s.KeepUninstalled != -1 || s.Retention != "30d" || s.Elevate != "" || s.QuarantineDir != "" ||
		s.NoRules != nil || s.UnownedExcludes != nil {
		t.Errorf("defaults: %+v", s)
	}
	if !reflect.DeepEqual(s.Entries(), want.Entries()) {
		t.Errorf("entries differ from Default's")
	}
	for _, e := range s.Entries() {
		if e.From != "default" {
			t.Errorf("%s.%s from %q", e.Section, e.Key, e.From)
		}
	}
	if d, ok := s.RetentionAge(); !ok || d.Hours() != 30*24 {
		t.Errorf("RetentionAge = %v, %v", d, ok)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "pactidy.conf", `# settings
[report]
Sections = orphans, pacfiles foreign
Optional = ignore
NoRule = pycache icon-cache
NoRule = fontconfig
UnownedExclude = /srv/data dir
UnownedExclude = opt/**/*.keep

  # indented comment
[cache]
Keep = 2
KeepUninstalled = 0
Keep = 1
[clean]
Elevate = doas -u root
[quarantine]
Dir = /srv/quarantine/
Retention = never
`)
	s, err := Load(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if s.File != p {
		t.Errorf("File = %q", s.File)
	}
	// Sections come out in report order whatever the file's order.
	if want := []string{"orphans", "foreign", "pacfiles"}; !reflect.DeepEqual(s.Sections, want) {
		t.Errorf("Sections = %q, want %q", s.Sections, want)
	}
	if s.Optional != "ignore" || s.Keep != 1 || s.KeepUninstalled != 0 || s.Elevate != "doas -u root" ||
		s.QuarantineDir != "/srv/quarantine" || s.Retention != "never" {
		t.Errorf("values: %+v", s)
	}
	if want := []string{"pycache", "icon-cache", "fontconfig"}; !reflect.DeepEqual(s.NoRules, want) {
		t.Errorf("NoRules = %q", s.NoRules)
	}
	if want := []string{"/srv/data dir", "opt/**/*.keep"}; !reflect.DeepEqual(s.UnownedExcludes, want) {
		t.Errorf("UnownedExcludes = %q", s.UnownedExcludes)
	}
	if _, ok := s.RetentionAge(); ok {
		t.Error("Retention = never has an age")
	}
	origins := map[string][]string{
		"report.Sections":       {p + ":3"},
		"report.NoRule":         {p + ":5", p + ":5", p + ":6"},
		"report.UnownedExclude": {p + ":7", p + ":8"},
		"cache.Keep":            {p + ":14"},
		"cache.KeepUninstalled": {p + ":13"},
		"quarantine.Retention":  {p + ":19"},
	}
	for id, want := range origins {
		var got []string
		for _, o := range s.Origins(id) {
			got = append(got, o.String())
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Origins(%s) = %q, want %q", id, got, want)
		}
	}
	// Every shown value has its origin.
	var shown []string
	for _, e := range s.Entries() {
		shown = append(shown, e.Section+"."+e.Key+"="+e.Value+" @"+strings.TrimPrefix(e.From, p))
	}
	want := []string{
		"report.Sections=orphans foreign pacfiles @:3",
		"report.Optional=ignore @:4",
		"report.NoRule=pycache @:5",
		"report.NoRule=icon-cache @:5",
		"report.NoRule=fontconfig @:6",
		"report.UnownedExclude=/srv/data dir @:7",
		"report.UnownedExclude=opt/**/*.keep @:8",
		"report.PrometheusFile=(none) @default",
		"cache.Keep=1 @:14",
		"cache.KeepUninstalled=0 @:13",
		"clean.Elevate=doas -u root @:16",
		"quarantine.Dir=/srv/quarantine @:18",
		"quarantine.Retention=never @:19",
	}
	if !reflect.DeepEqual(shown, want) {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(shown, "\n"), strings.Join(want, "\n"))
	}
}

func TestKeepUninstalledFollowsKeep(t *testing.T) {
	p := write(t, t.TempDir(), "a.conf", "[cache]\nKeep = 5\n")
	s, err := Load(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if s.KeepUninstalled != -1 {
		t.Errorf("KeepUninstalled = %d, want -1 (same as Keep)", s.KeepUninstalled)
	}
	for _, e := range s.Entries() {
		if e.Key == "KeepUninstalled" && (e.Value != "5 (same as Keep)" || e.From != "default") {
			t.Errorf("shown as %+v", e)
		}
	}
}

// Every mistake stops with FILE:LINE and says what is wrong.
func TestErrors(t *testing.T) {
	tests := []struct {
		name, content string
		line          int
		want          string
	}{
		{"outside section", "Keep = 2\n", 1, "outside a section: put it below [cache]"},
		{"unknown section", "\n[options]\n", 2, "unknown section [options]"},
		{"bad header", "[cache\n", 1, "bad section header"},
		{"unknown key", "[cache]\nKeepp = 2\n", 2, `unknown setting "Keepp" in [cache]: known are Keep, KeepUninstalled`},
		{"wrong section", "[report]\nKeep = 2\n", 2, "Keep belongs in [cache], not [report]"},
		{"no value", "[cache]\nKeep\n", 2, "Keep needs a value"},
		{"empty value", "[cache]\nKeep =\n", 2, "Keep needs a value"},
		{"negative", "[cache]\nKeep = -1\n", 2, `Keep: "-1": want a whole number`},
		{"not a number", "[cache]\nKeepUninstalled = three\n", 2, `KeepUninstalled: "three"`},
		{"trailing comment", "[cache]\nKeep = 2 # two\n", 2, "comments go on their own line"},
		{"bad section name", "[report]\nSections = orphans orphanz\n", 2, `unknown section "orphanz"`},
		{"no sections", "[report]\nSections = ,\n", 2, "needs at least one section"},
		{"optional", "[report]\nOptional = maybe\n", 2, "want keep or ignore"},
		{"rule", "[report]\nNoRule = pycache no-such-rule\n", 2, "no-such-rule"},
		{"exclude all", "[report]\nUnownedExclude = /\n", 2, "would exclude everything"},
		{"exclude bad glob", "[report]\nUnownedExclude = /srv/[a\n", 2, "UnownedExclude"},
		{"exclude empty", "[report]\nUnownedExclude =\n", 2, "needs a path or glob"},
		{"prometheus relative", "[report]\nPrometheusFile = pactidy.prom\n", 2, "want the absolute path"},
		{"prometheus suffix", "[report]\nPrometheusFile = /var/lib/node_exporter/pactidy.txt\n", 2, "ending in .prom"},
		{"relative quarantine", "[quarantine]\nDir = quarantine\n", 2, "want an absolute path"},
		{"root quarantine", "[quarantine]\nDir = /\n", 2, "cannot be the root"},
		{"retention", "[quarantine]\nRetention = soon\n", 2, "Retention"},
		{"retention zero", "[quarantine]\nRetention = 0\n", 2, "would purge at once"},
		{"include empty", "[cache]\nInclude =\n", 2, "Include needs"},
		{"include missing", "[cache]\nInclude = /nonexistent/pactidy-settings.conf\n", 0, "/nonexistent/pactidy-settings.conf: cannot be read"},
		{"case matters", "[cache]\nkeep = 2\n", 2, `unknown setting "keep"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, t.TempDir(), "pactidy.conf", tt.content)
			_, err := Load(p, true)
			if err == nil {
				t.Fatal("no error")
			}
			var serr *Error
			if !errors.As(err, &serr) {
				t.Fatalf("error %T %v is not a settings error", err, err)
			}
			prefix := p + ":" + strconv.Itoa(tt.line) + ": "
			if tt.line == 0 {
				prefix = "settings "
			}
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want prefix %q and %q", err, prefix, tt.want)
			}
		})
	}
}

// An explicit file must exist; a file that exists and cannot be read is an
// error even when the file is optional.
func TestUnreadable(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "absent.conf"), false); err == nil || !strings.Contains(err.Error(), "cannot be read") {
		t.Errorf("missing explicit file: %v", err)
	}
	if _, err := Load(dir, true); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory: %v", err)
	}
	// A dangling symlink is a file that is absent.
	link := filepath.Join(dir, "link.conf")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), link); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(link, true); err != nil {
		t.Errorf("dangling optional file: %v", err)
	}
	if os.Geteuid() == 0 {
		return // root reads a mode-000 file anyway
	}
	p := write(t, dir, "secret.conf", "[cache]\nKeep = 1\n")
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p, true); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("unreadable optional file: %v", err)
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "conf.d/10-keep.conf", "Keep = 7\n[report]\nNoRule = pycache\n")
	write(t, dir, "conf.d/20-more.conf", "[report]\nNoRule = fontconfig\n")
	write(t, dir, "conf.d/.#10-keep.conf", "this is an editor's lock file, never read\n")
	write(t, dir, "conf.d/notes.txt", "not matched by the glob\n")
	write(t, dir, "extra.conf", "Elevate = run0\n")
	main := write(t, dir, "pactidy.conf", `[cache]
Include = conf.d/*.conf
KeepUninstalled = 1
[clean]
Include = `+filepath.Join(dir, "extra.conf")+`
[quarantine]
Include = empty.d/*.conf
`)
	s, err := Load(main, false)
	if err != nil {
		t.Fatal(err)
	}
	// The included file starts in [cache] (Keep), switches to [report];
	// after the Include line the main file is in [cache] again.
	if s.Keep != 7 || s.KeepUninstalled != 1 || s.Elevate != "run0" {
		t.Errorf("values: %+v", s)
	}
	if want := []string{"pycache", "fontconfig"}; !reflect.DeepEqual(s.NoRules, want) {
		t.Errorf("NoRules = %q", s.NoRules)
	}
	if got := s.Origin("cache.Keep").String(); got != filepath.Join(dir, "conf.d/10-keep.conf")+":1" {
		t.Errorf("Keep from %s", got)
	}
	if s.File != main {
		t.Errorf("File = %q, want the main file", s.File)
	}

	loop := write(t, dir, "loop.conf", "[cache]\nInclude = loop.conf\n")
	if _, err := Load(loop, false); err == nil || !strings.Contains(err.Error(), "too many nested Include") {
		t.Errorf("include loop: %v", err)
	}
	bad := write(t, dir, "bad.conf", "[cache]\nInclude = conf.d/*.conf\n")
	write(t, dir, "conf.d/30-bad.conf", "[cache]\n\nKeep = x\n")
	_, err = Load(bad, false)
	if want := filepath.Join(dir, "conf.d/30-bad.conf") + ":3: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error in an included file: %v, want prefix %q", err, want)
	}
}

func TestOverride(t *testing.T) {
	p := write(t, t.TempDir(), "a.conf", "[report]\nNoRule = pycache\nOptional = ignore\n[cache]\nKeep = 2\n")
	s, err := Load(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Override("cache.Keep", "--keep", []string{"5"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Override("report.NoRule", "--no-rule", []string{"icon-cache", "fontconfig"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Override("report.Sections", "--only", []string{"foreign", "orphans"}); err != nil {
		t.Fatal(err)
	}
	if s.Keep != 5 || !reflect.DeepEqual(s.NoRules, []string{"icon-cache", "fontconfig"}) ||
		!reflect.DeepEqual(s.Sections, []string{"orphans", "foreign"}) {
		t.Errorf("after override: %+v", s)
	}
	for id, want := range map[string]string{"cache.Keep": "flag --keep", "report.NoRule": "flag --no-rule",
		"report.Sections": "flag --only", "report.Optional": p + ":3", "cache.KeepUninstalled": "default"} {
		if got := s.Origin(id).String(); got != want {
			t.Errorf("%s from %q, want %q", id, got, want)
		}
	}
	if err := s.Override("cache.Keep", "--keep", []string{"-2"}); err == nil || !strings.HasPrefix(err.Error(), "--keep: ") {
		t.Errorf("bad flag value: %v", err)
	}
	if err := s.Override("report.NoRule", "--no-rule", nil); err != nil || s.NoRules != nil || len(s.Origins("report.NoRule")) != 0 {
		t.Errorf("empty override: %v, %q", err, s.NoRules)
	}
}

// The commented default shipped in packaging/ must load, and uncommenting
// every "#Key = value" line of it must load too and change nothing: those
// comments show the defaults. ("# Key = value", with a space, is an
// example.)
func TestPackagedDefault(t *testing.T) {
	data, err := os.ReadFile("../../packaging/pactidy.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, err := Load(write(t, dir, "as-shipped.conf", string(data)), false)
	if err != nil {
		t.Fatalf("shipped file: %v", err)
	}
	if !reflect.DeepEqual(effective(s), effective(Default())) {
		t.Errorf("the shipped file changes settings: %+v", s)
	}
	var b strings.Builder
	var uncommented []string
	for _, l := range strings.Split(string(data), "\n") {
		if k, ok := strings.CutPrefix(l, "#"); ok && strings.Contains(k, " = ") && !strings.HasPrefix(k, " ") {
			l = k
			uncommented = append(uncommented, strings.Fields(k)[0])
		}
		b.WriteString(l + "\n")
	}
	// The keys whose default is a plain value; the others' defaults depend
	// on the system (sudo when present, the target root) or are empty.
	if want := []string{"Sections", "Optional", "Keep", "Retention"}; !reflect.DeepEqual(uncommented, want) {
		t.Errorf("commented defaults in the shipped file: %q, want %q", uncommented, want)
	}
	u, err := Load(write(t, dir, "uncommented.conf", b.String()), false)
	if err != nil {
		t.Fatalf("uncommented: %v", err)
	}
	if got, want := effective(u), effective(Default()); !reflect.DeepEqual(got, want) {
		t.Errorf("uncommented defaults %q differ:\n got %+v\nwant %+v", uncommented, got, want)
	}
}

// effective is what a command uses (KeepUninstalled -1 means Keep).
func effective(s *Settings) Settings {
	e := *s
	e.File, e.origins = "", nil
	if e.KeepUninstalled < 0 {
		e.KeepUninstalled = e.Keep
	}
	return e
}
