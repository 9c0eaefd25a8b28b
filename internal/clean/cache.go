package clean

import (
	"context"
	"errors"

	"github.com/pactidy/pactidy/cache"
)

// cache carries out a PruneCache action through cache.Apply, holding
// pacman's lock so that no pacman starts while files go.
func (r *runner) cache(ctx context.Context, i int, a *PruneCache, ar *ActionResult) error {
	unlock, err := cache.Lock(r.plan.Config.DBPath)
	if err != nil {
		r.skipAll(i, ar, a, err)
		return err
	}
	seen := map[string]bool{}
	res, aerr := cache.Apply(ctx, a.Plan, cache.Action{
		MoveTo: a.MoveTo,
		Progress: func(f cache.File, err error) {
			seen[f.Path] = true
			if err != nil {
				r.failed(i, ar, f.Path, err)
				return
			}
			r.done(i, ar, f.Path, f.Size)
		},
	})
	ar.Cache = res
	if uerr := unlock(); uerr != nil && aerr == nil {
		aerr = errors.Join(errors.New("release pacman's lock"), uerr)
	}
	for _, s := range res.Skipped {
		seen[s.Path] = true
		r.skipped(i, ar, s.Path, s.Err)
	}
	if aerr != nil {
		why := aerr
		if ctx.Err() != nil {
			why = ErrInterrupted
		}
		for _, f := range a.Plan.Candidates() {
			if !seen[f.Path] {
				r.skipped(i, ar, f.Path, why)
			}
		}
	}
	return aerr
}
