package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/pflag"

	"github.com/pactidy/pactidy/internal/atomicfile"
	"github.com/pactidy/pactidy/internal/quote"
	"github.com/pactidy/pactidy/internal/report"
	"github.com/pactidy/pactidy/internal/state"
)

// watchOptions are the report flags for watching a machine: the state
// file, --new, writing to a file and the configured metrics file.
type watchOptions struct {
	state   stateOptions
	new     bool
	output  string
	metrics bool
}

func addWatchFlags(f *pflag.FlagSet, o *watchOptions) {
	addStateFlags(f, &o.state)
	f.BoolVar(&o.new, "new", false, "show only what the last recorded report did not have (see --state)")
	f.StringVarP(&o.output, "output", "o", "", "write the report to `file` (atomically: a temporary file renamed into place) instead of standard output")
	f.BoolVar(&o.metrics, "metrics", false, "also write the Prometheus gauges to the settings' [report] PrometheusFile (the report timer does)")
}

func (o *watchOptions) check(r *reportOptions) error {
	switch {
	case o.new && o.state.none:
		return usagef("--new compares with the state file; it cannot be combined with --no-state")
	case o.new && r.prometheus:
		return usagef("--new filters findings; Prometheus gauges always count all of them (pactidy_new counts the new ones)")
	case o.output != "" && len(r.why) > 0:
		return usagef("--output writes the report, not --why")
	}
	return nil
}

// watched is what watchReport leaves for the end of the run.
type watched struct {
	// notes go to standard error after the report (unless --quiet found
	// nothing).
	notes []string
	// err is a failure that must not keep the report from being printed
	// (the metrics file could not be written).
	err error
}

// watchReport compares rep with the state file (marking every finding new
// or not), records rep in it, writes the configured metrics file, and with
// --new drops from rep what is not new. A state that cannot be read or
// written is a note, never a failure: a normal user gets the report
// without it.
func (app *App) watchReport(o *watchOptions, root string, rep *report.Report, pre <-chan loadedState) *watched {
	w := &watched{}
	var fresh *state.State
	if !o.state.none {
		store := o.state.store(root)
		if pre == nil {
			pre = o.loadState(root)
		}
		l := <-pre
		prev, exists, err := l.s, l.exists, l.err
		var damaged *state.DamagedError
		switch {
		case errors.As(err, &damaged):
			w.notes = append(w.notes, err.Error())
		case err != nil:
			w.notes = append(w.notes, fmt.Sprintf("%v: the report does not say what is new", err))
		}
		if prev != nil {
			rep.NewCounts = prev.Mark(rep)
			if !exists && o.new {
				w.notes = append(w.notes, fmt.Sprintf("no earlier report recorded in %s: everything counts as new", store.Path))
			}
		}
		if err == nil || damaged != nil {
			fresh = state.New()
			fresh.Record(rep, rep.GeneratedAt)
			err := store.UpdateFrom(prev, func(s *state.State) error {
				for name, sec := range fresh.Sections {
					s.Sections[name] = sec
				}
				return nil
			})
			if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
				w.notes = append(w.notes, fmt.Sprintf("%v: this report was not recorded (run it as root to record it)", err))
			} else if err != nil {
				w.notes = append(w.notes, fmt.Sprintf("%v: this report was not recorded", err))
			}
		}
	}
	if o.metrics {
		if s, err := app.settings(); err != nil {
			w.err = err
		} else if s.PrometheusFile != "" {
			var b bytes.Buffer
			if err := report.NewPrometheus().Print(&b, rep); err != nil {
				w.err = err
			} else if err := atomicfile.WriteFile(s.PrometheusFile, b.Bytes(), 0o644); err != nil {
				w.err = fmt.Errorf("metrics: %w", err)
			}
		}
	}
	if o.new && rep.NewCounts != nil {
		state.OnlyNew(rep)
	}
	return w
}

// loadedState is the state file as Load read it.
type loadedState struct {
	s      *state.State
	exists bool
	err    error
}

// loadState reads the state file in the background: a big system's is
// megabytes of JSON, read while the report is computed. Nil with
// --no-state.
func (o *watchOptions) loadState(root string) <-chan loadedState {
	if o.state.none {
		return nil
	}
	ch := make(chan loadedState, 1)
	go func() {
		s, exists, err := o.state.store(root).Load()
		ch <- loadedState{s, exists, err}
	}()
	return ch
}

// printNotes writes the notes, one line each.
func (w *watched) printNotes(app *App) {
	for _, n := range w.notes {
		fmt.Fprintf(app.Stderr, "pactidy: note: %s\n", quote.Quote(n))
	}
}

// writeOutput writes the printed report to --output, atomically, or does
// nothing when it went to standard output.
func writeOutput(o *watchOptions, data *bytes.Buffer) error {
	if o.output == "" {
		return nil
	}
	if err := atomicfile.WriteFile(o.output, data.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	return nil
}
