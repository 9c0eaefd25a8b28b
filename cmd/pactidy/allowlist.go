package main

import (
	"path/filepath"

	"github.com/pactidy/pactidy/internal/allowlist"
)

// sysConfDir is the running system's configuration directory. Like pacman,
// pactidy reads its own configuration from the running system even with
// --root. PACTIDY_SYSCONFDIR points it elsewhere (tests, packaging checks).
func (app *App) sysConfDir() string {
	if app.Getenv != nil {
		if d := app.Getenv("PACTIDY_SYSCONFDIR"); d != "" {
			return d
		}
	}
	return "/etc"
}

// defaultAllowlistFile is the file `pactidy allow` edits by default.
func (app *App) defaultAllowlistFile() string {
	return filepath.Join(app.sysConfDir(), "pactidy", "allowlist")
}

// allowlist loads the allowlist files: SYSCONFDIR/pactidy/allowlist,
// SYSCONFDIR/pactidy/allowlist.d/*.conf, the imported pacreport.conf and
// lostfiles.conf, then every --allowlist file. A bad line is an error
// (FILE:LINE: ...): an entry is never dropped silently.
func (app *App) allowlist() (*allowlist.List, error) {
	return allowlist.Load(allowlist.Sources{SysConfDir: app.sysConfDir(), Extra: app.Global.Allowlist})
}
