package main

import "github.com/pactidy/pactidy/internal/allowlist"

// allowlist loads the allowlist files (system files and --allowlist).
func (app *App) allowlist() (*allowlist.List, error) {
	return &allowlist.List{}, nil
}
