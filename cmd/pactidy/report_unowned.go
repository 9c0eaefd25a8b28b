package main

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/pactidy/pactidy/internal/allowlist"
	"github.com/pactidy/pactidy/internal/conf"
	"github.com/pactidy/pactidy/internal/pkg"
	"github.com/pactidy/pactidy/internal/report"
)

// unownedOptions tune the unowned-file scan of the report.
type unownedOptions struct{}

func addUnownedFlags(f *pflag.FlagSet, o *unownedOptions) {}

// collectUnowned fills rep.Unowned (and rep.Errors).
func collectUnowned(ctx context.Context, app *App, cfg *conf.Config, db *pkg.DB, allow *allowlist.List, o *unownedOptions, rep *report.Report) error {
	return nil
}
