package tui

import (
	"context"
	"fmt"
	"slices"

	tea "charm.land/bubbletea/v2"
)

// scanMsg carries an event of scan gen; next waits for the following one.
type scanMsg struct {
	gen      int
	ev       Event
	finished bool
	err      error
	next     tea.Cmd
}

// startScan runs the source in the background; its events come back one
// message at a time through a channel.
func (m *Model) startScan() tea.Cmd {
	m.scanGen++
	m.scanning = true
	for _, s := range m.sections {
		s.reset()
	}
	gen, src, ctx := m.scanGen, m.opts.Source, m.ctx
	ch := make(chan scanMsg, 256)
	var next tea.Cmd
	next = func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		msg.next = next
		return msg
	}
	start := func() tea.Msg {
		go runScan(ctx, src, gen, ch)
		return next()
	}
	return start
}

func runScan(ctx context.Context, src Source, gen int, ch chan<- scanMsg) {
	defer close(ch)
	if src == nil {
		ch <- scanMsg{gen: gen, finished: true, err: fmt.Errorf("no source of findings")}
		return
	}
	err := src.Scan(ctx, func(ev Event) {
		msg := scanMsg{gen: gen, ev: ev}
		if !ev.Done && ev.Err == nil && ev.Info == nil {
			// Progress may be dropped when the UI is behind: the next
			// one says more.
			select {
			case ch <- msg:
			default:
			}
			return
		}
		select {
		case ch <- msg:
		case <-ctx.Done():
		}
	})
	select {
	case ch <- scanMsg{gen: gen, finished: true, err: err}:
	case <-ctx.Done():
	}
}

func (m *Model) handleScan(msg scanMsg) tea.Cmd {
	if msg.gen != m.scanGen {
		return msg.next // drain an old scan
	}
	if msg.finished {
		m.scanning = false
		for _, s := range m.sections {
			if s.state == sectionPending {
				s.state = sectionFailed
				if s.err == nil {
					s.err = fmt.Errorf("not computed")
				}
			}
		}
		if msg.err != nil {
			m.addError("", msg.err)
		}
		if m.opts.ExitAfter == "last-section" {
			return tea.Quit
		}
		return m.updateDetail()
	}
	ev := msg.ev
	if ev.Info != nil {
		m.info = ev.Info
	}
	if ev.Section == "" {
		if ev.Err != nil {
			m.addError("", ev.Err)
		}
		return tea.Batch(msg.next, m.updateDetail())
	}
	id, ok := sectionByID(ev.Section)
	if !ok {
		return msg.next
	}
	s := m.sections[id]
	switch {
	case ev.Err != nil:
		s.state, s.err = sectionFailed, ev.Err
		m.addError("", fmt.Errorf("%s: %w", sectionTitles[id], ev.Err))
	case ev.Done:
		if ev.Report != nil {
			if ev.Report.Root != "" {
				m.root = ev.Report.Root
			}
			s.setItems(itemsOf(id, ev.Report))
			// Two sections walking the same directory meet its error twice.
			for _, e := range ev.Report.Errors {
				if !slices.Contains(m.errs, e) {
					m.errs = append(m.errs, e)
				}
			}
			if n := len(ev.Report.Errors); n > 0 {
				m.status = fmt.Sprintf("%s: %s could not be read (e shows them)", sectionTitles[id], plural(n, "path", "paths"))
			}
			m.reapplyKeeps(s)
		} else {
			s.setItems(nil)
		}
	default:
		s.progress = ev.Progress
	}
	return tea.Batch(msg.next, m.updateDetail())
}
