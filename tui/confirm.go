package tui

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/pactidy/pactidy/internal/quote"
	"github.com/pactidy/pactidy/internal/report"
)

// confirmModel shows the plan before anything is done.
type confirmModel struct {
	c    *common
	plan *Plan
	err  error
	view viewport.Model
}

func newConfirmModel(c *common) confirmModel {
	v := viewport.New()
	v.SoftWrap = true
	return confirmModel{c: c, view: v}
}

func (cm *confirmModel) layout(w, h int) {
	cm.view.SetWidth(w)
	cm.view.SetHeight(max(h, 3))
}

func (cm *confirmModel) set(p *Plan, err error, canRun bool) {
	cm.plan, cm.err = p, err
	cm.view.SetContent(cm.text(canRun))
	cm.view.GotoTop()
}

func (cm *confirmModel) text(canRun bool) string {
	st := cm.c.styles
	if cm.err != nil {
		return st.Error.Render("Cannot plan the removal: "+quote.Quote(cm.err.Error())) + "\n\nn/esc goes back."
	}
	p := cm.plan
	var b strings.Builder
	b.WriteString(st.Title.Render("Remove what is marked?") + "\n\n")
	if len(p.Packages) > 0 {
		b.WriteString(st.Label.Render(fmt.Sprintf("%s (%s)", plural(len(p.Packages), "package", "packages"), humanBytes(p.PackageBytes))) + ", with what pacman -Rns takes along:\n")
		b.WriteString("  " + strings.Join(quoteAll(p.Packages), " ") + "\n")
		if len(p.Command) > 0 {
			b.WriteString("  command: " + strings.Join(quoteArgs(p.Command), " ") + "\n")
		}
		b.WriteString("\n")
	}
	if len(p.Entries) > 0 {
		b.WriteString(st.Label.Render(fmt.Sprintf("%s to quarantine (%s)", plural(len(p.Entries), "entry", "entries"), humanBytes(p.EntryBytes))) + ", restorable with pactidy quarantine restore:\n")
		for _, e := range p.Entries {
			b.WriteString("  " + quote.Quote(e.Path) + "\n")
		}
		b.WriteString("\n")
	}
	if len(p.CacheFiles) > 0 {
		b.WriteString(st.Label.Render(fmt.Sprintf("%s to delete from the cache (%s):", plural(len(p.CacheFiles), "file", "files"), humanBytes(p.CacheBytes))) + "\n")
		for _, c := range p.CacheFiles {
			b.WriteString("  " + quote.Quote(c.Path) + "\n")
		}
		b.WriteString("\n")
	}
	if len(p.UserData) > 0 {
		head := fmt.Sprintf("%s of user data to move (%s)", plural(len(p.UserData), "entry", "entries"), humanBytes(p.UserDataBytes))
		b.WriteString(st.Label.Render(head) + " into the home's own quarantine")
		if p.UserQuarantine != "" {
			b.WriteString(" " + quote.Quote(p.UserQuarantine))
		}
		if p.UserOwner != "" {
			b.WriteString(", moved as " + quote.Quote(p.UserOwner))
		}
		b.WriteString(", restorable by the owner:\n")
		for _, u := range p.UserData {
			b.WriteString(fmt.Sprintf("  %-10s %-6s %s\n", humanBytes(u.Size), u.Kind, quote.Quote(u.Path)))
		}
		b.WriteString("\n")
	}
	b.WriteString(st.Label.Render("Total: "+humanBytes(p.Total())) + "\n")
	for _, n := range p.Notes {
		b.WriteString(st.Warn.Render("! "+quote.Quote(n)) + "\n")
	}
	if !canRun {
		b.WriteString("\n" + st.Warn.Render(errNoEngine.Error()+"; n/esc goes back."))
	}
	return b.String()
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = quote.Quote(a)
	}
	return out
}

// resultModel shows what a removal did.
type resultModel struct {
	c    *common
	res  *Result
	view viewport.Model
}

func newResultModel(c *common) resultModel {
	v := viewport.New()
	v.SoftWrap = true
	return resultModel{c: c, view: v}
}

func (rm *resultModel) layout(w, h int) {
	rm.view.SetWidth(w)
	rm.view.SetHeight(max(h, 3))
}

func (rm *resultModel) set(r *Result) {
	rm.res = r
	st := rm.c.styles
	var b strings.Builder
	b.WriteString(st.Title.Render("Done") + "\n\n")
	if len(r.Removed) > 0 {
		b.WriteString(fmt.Sprintf("Removed %s: %s\n", plural(len(r.Removed), "package", "packages"), strings.Join(quoteAll(r.Removed), " ")))
	}
	if r.Quarantined > 0 {
		b.WriteString(fmt.Sprintf("Quarantined %s.\n", plural(r.Quarantined, "entry", "entries")))
	}
	if r.Pruned > 0 {
		b.WriteString(fmt.Sprintf("Deleted %s from the cache.\n", plural(r.Pruned, "file", "files")))
	}
	b.WriteString(st.Label.Render("Freed "+humanBytes(r.Freed)) + "\n")
	if len(r.Failures) > 0 {
		b.WriteString("\n" + st.Error.Render(fmt.Sprintf("%s not done:", plural(len(r.Failures), "item was", "items were"))) + "\n")
		for _, f := range r.Failures {
			b.WriteString("  " + quote.Quote(f.What) + ": " + quote.Quote(f.Why) + "\n")
		}
	}
	if r.QuarantineID != "" {
		b.WriteString("\nTo bring the files back: pactidy quarantine restore " + r.QuarantineID + "\n")
	}
	if r.UserQuarantineID != "" {
		b.WriteString("\nTo bring the user data back, as its owner:\n  pactidy quarantine restore --quarantine-dir " + quote.Quote(r.UserQuarantineDir) + " " + r.UserQuarantineID + "\n")
	}
	b.WriteString("\n" + st.Dim.Render("The sections are scanned again. Any key goes back; q quits."))
	rm.view.SetContent(b.String())
	rm.view.GotoTop()
}

// Messages of a removal run.
type (
	planMsg struct {
		plan *Plan
		err  error
	}
	pkgRanMsg    struct{ err error }
	pkgResultMsg struct {
		res *Result
		err error
	}
	applyMsg struct {
		done, total int
		bytes       int64
		finished    bool
		res         *Result
		err         error
		next        tea.Cmd
	}
)

// startConfirm handles d: plan what is marked and show it.
func (m *Model) startConfirm() tea.Cmd {
	sel := m.Selection()
	if sel.Empty() {
		m.status = "nothing is marked (space marks)"
		return nil
	}
	m.page = pageConfirm
	m.confirm.set(&Plan{}, nil, true)
	m.confirm.view.SetContent(m.c.styles.Dim.Render("Planning…"))
	if m.opts.Engine == nil {
		p := m.localPlan(sel)
		return func() tea.Msg { return planMsg{plan: p} }
	}
	eng, ctx := m.opts.Engine, m.ctx
	return func() tea.Msg {
		p, err := eng.Plan(ctx, sel)
		return planMsg{plan: p, err: err}
	}
}

// localPlan summarizes sel from the report alone, for builds without a
// removal engine.
func (m *Model) localPlan(sel Selection) *Plan {
	p := &Plan{}
	seen := map[string]bool{}
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			p.Packages = append(p.Packages, name)
			if m.info != nil {
				if pi, ok := m.info.Package(name); ok {
					p.PackageBytes += pi.InstalledSize
				}
			}
		}
	}
	orphans := map[string]*report.Orphan{}
	for _, it := range m.sections[secOrphans].all {
		orphans[it.key] = it.orphan
	}
	for _, name := range sel.Packages {
		add(name)
		if o := orphans[name]; o != nil {
			for _, r := range o.Removes {
				add(r)
			}
		}
	}
	sort.Strings(p.Packages)
	for _, u := range sel.Unowned {
		p.Entries = append(p.Entries, u)
		p.EntryBytes += u.Size
	}
	for _, c := range sel.Cache {
		p.CacheFiles = append(p.CacheFiles, c)
		p.CacheBytes += c.Size
	}
	for _, u := range sel.Userdata {
		p.UserData = append(p.UserData, u)
		p.UserDataBytes += u.Size
	}
	return p
}

// runPlan handles y: packages first (pacman in the terminal, the UI
// suspended), then the quarantine and the cache with a progress bar.
func (m *Model) runPlan() tea.Cmd {
	p := m.confirm.plan
	if p == nil || m.confirm.err != nil || m.opts.Engine == nil {
		m.status = errNoEngine.Error()
		if m.confirm.err != nil {
			m.status = m.confirm.err.Error()
		}
		return nil
	}
	m.page = pageRunning
	m.result.res = &Result{}
	if len(p.Packages) > 0 {
		c, err := m.opts.Engine.PackageCommand(p)
		switch {
		case err != nil:
			m.merge(nil, err, "pacman")
		case c != nil:
			return tea.ExecProcess(c, func(err error) tea.Msg { return pkgRanMsg{err: err} })
		}
	}
	return tea.Batch(m.applyCmd(), m.spinner.Tick)
}

func (m *Model) applyCmd() tea.Cmd {
	p := m.confirm.plan
	if len(p.Entries) == 0 && len(p.CacheFiles) == 0 && len(p.UserData) == 0 {
		return func() tea.Msg { return applyMsg{finished: true, res: &Result{}} }
	}
	eng, ctx := m.opts.Engine, m.ctx
	ch := make(chan applyMsg, 64)
	var next tea.Cmd
	next = func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		msg.next = next
		return msg
	}
	return func() tea.Msg {
		go func() {
			defer close(ch)
			res, err := eng.Apply(ctx, p, func(done, total int, bytes int64) {
				select {
				case ch <- applyMsg{done: done, total: total, bytes: bytes}:
				default:
				}
			})
			ch <- applyMsg{finished: true, res: res, err: err}
		}()
		return next()
	}
}

func (m *Model) handleRun(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case planMsg:
		if m.page != pageConfirm {
			return nil
		}
		m.confirm.set(msg.plan, msg.err, m.opts.Engine != nil)
	case pkgRanMsg:
		eng, ctx, p := m.opts.Engine, m.ctx, m.confirm.plan
		return tea.Batch(func() tea.Msg {
			res, err := eng.AfterPackages(ctx, p, msg.err)
			return pkgResultMsg{res: res, err: err}
		}, m.spinner.Tick)
	case pkgResultMsg:
		m.merge(msg.res, msg.err, "pacman")
		return m.applyCmd()
	case applyMsg:
		if !msg.finished {
			m.applyDone, m.applyTotal, m.applyBytes = msg.done, msg.total, msg.bytes
			return msg.next
		}
		m.merge(msg.res, msg.err, "quarantine and cache")
		m.page = pageResult
		m.result.set(m.result.res)
		return tea.Batch(m.startScan(), m.rescanOnDemand())
	}
	return nil
}

// merge adds a step's result to the run's.
func (m *Model) merge(r *Result, err error, step string) {
	total := m.result.res
	if err != nil {
		total.Failures = append(total.Failures, Failure{What: step, Why: err.Error()})
	}
	if r == nil {
		return
	}
	total.Removed = append(total.Removed, r.Removed...)
	total.Quarantined += r.Quarantined
	total.Pruned += r.Pruned
	total.Freed += r.Freed
	total.Failures = append(total.Failures, r.Failures...)
	if r.QuarantineID != "" {
		total.QuarantineID = r.QuarantineID
	}
	if r.UserQuarantineID != "" {
		total.UserQuarantineDir, total.UserQuarantineID = r.UserQuarantineDir, r.UserQuarantineID
	}
}
