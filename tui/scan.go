package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// scanMsg carries an event of scan gen; next waits for the following one.
// With demand set it belongs to the on-demand scan of section sec, whose
// generation the section counts itself.
type scanMsg struct {
	gen      int
	ev       Event
	finished bool
	err      error
	next     tea.Cmd
	demand   bool
	sec      section
}

// startScan runs the source in the background; its events come back one
// message at a time through a channel.
func (m *Model) startScan() tea.Cmd {
	m.scanGen++
	m.scanning = true
	for _, s := range m.sections {
		if !s.id.onDemand() {
			s.reset()
		}
	}
	return streamScan(m.ctx, m.opts.Source, m.scanGen, false, 0)
}

// streamScan runs src in the background and hands its events over one
// message at a time through a channel.
func streamScan(ctx context.Context, src Source, gen int, demand bool, sec section) tea.Cmd {
	ch := make(chan scanMsg, 256)
	var next tea.Cmd
	next = func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		msg.next = next
		msg.demand, msg.sec = demand, sec
		return msg
	}
	start := func() tea.Msg {
		go runScan(ctx, src, gen, ch)
		return next()
	}
	return start
}

// scanOnDemand handles r on an on-demand section's tab: it scans that
// section now (again, when it was scanned before).
func (m *Model) scanOnDemand() tea.Cmd {
	s := m.sections[m.active]
	if !s.id.onDemand() {
		m.status = "r scans the user data, on the " + sectionTitles[secUserdata] + " tab"
		return nil
	}
	if s.state == sectionPending {
		return nil
	}
	return tea.Batch(m.startOnDemand(s), m.spinner.Tick)
}

func (m *Model) startOnDemand(s *sectionModel) tea.Cmd {
	s.demandGen++
	s.reset()
	src, ok := m.opts.Source.(OnDemandSource)
	if !ok {
		s.state, s.err = sectionFailed, fmt.Errorf("%s cannot be scanned in this build", strings.ToLower(sectionTitles[s.id]))
		return m.updateDetail()
	}
	m.status = ""
	return tea.Batch(streamScan(m.ctx, sectionSource{src, sectionIDs[s.id]}, s.demandGen, true, s.id), m.updateDetail())
}

// rescanOnDemand scans again, after a removal, the on-demand sections that
// were scanned.
func (m *Model) rescanOnDemand() tea.Cmd {
	var cmds []tea.Cmd
	for _, s := range m.sections {
		if s.id.onDemand() && s.state != sectionIdle {
			cmds = append(cmds, m.startOnDemand(s))
		}
	}
	return tea.Batch(cmds...)
}

// sectionSource is the Source of one on-demand section.
type sectionSource struct {
	src     OnDemandSource
	section string
}

func (s sectionSource) Scan(ctx context.Context, emit func(Event)) error {
	return s.src.ScanSection(ctx, s.section, emit)
}

// busy tells whether a scan runs (the spinner turns).
func (m *Model) busy() bool {
	if m.scanning {
		return true
	}
	for _, s := range m.sections {
		if s.state == sectionPending {
			return true
		}
	}
	return false
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
	if msg.demand {
		return m.handleOnDemand(msg)
	}
	if msg.gen != m.scanGen {
		return msg.next // drain an old scan
	}
	if msg.finished {
		m.scanning = false
		for _, s := range m.sections {
			if s.state == sectionPending && !s.id.onDemand() {
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
	if !ok || id.onDemand() {
		return msg.next
	}
	m.sectionEvent(id, ev)
	return tea.Batch(msg.next, m.updateDetail())
}

// handleOnDemand takes an event of an on-demand section's own scan.
func (m *Model) handleOnDemand(msg scanMsg) tea.Cmd {
	s := m.sections[msg.sec]
	if msg.gen != s.demandGen {
		return msg.next // drain an old scan
	}
	if msg.finished {
		if s.state == sectionPending {
			s.state, s.err = sectionFailed, msg.err
			if msg.err == nil {
				s.err = fmt.Errorf("not computed")
			} else {
				m.addError("", fmt.Errorf("%s: %w", sectionTitles[s.id], msg.err))
			}
		}
		return m.updateDetail()
	}
	ev := msg.ev
	if ev.Section == "" {
		if ev.Err != nil {
			m.addError("", ev.Err)
		}
		return tea.Batch(msg.next, m.updateDetail())
	}
	if id, ok := sectionByID(ev.Section); ok && id == msg.sec {
		m.sectionEvent(id, ev)
	}
	return tea.Batch(msg.next, m.updateDetail())
}

// sectionEvent applies one event of section id.
func (m *Model) sectionEvent(id section, ev Event) {
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
}
