package tui

import (
	"fmt"
	"testing"

	"github.com/pactidy/pactidy/internal/report"
)

// bigModel shows an unowned section of n entries at 120x40.
func bigModel(b *testing.B, n int) *Model {
	rep := &report.Report{Unowned: make([]report.Unowned, n)}
	for i := range rep.Unowned {
		rep.Unowned[i] = report.Unowned{Path: fmt.Sprintf("/srv/data/dir%03d/file-%06d.dat", i%500, i), Type: "file", Size: int64(i * 37 % 100000)}
	}
	m := newTestModel(b, 120, 40)
	deliver(m, rep, report.SectionUnowned)
	m.active = secUnowned
	m.updateDetail()
	return m
}

// BenchmarkKey is one key press and the frame after it, with 200 and
// with 20,000 unowned entries: moving and marking cost the same for both
// (only the rows on screen are drawn); filtering and sorting go over all.
func BenchmarkKey(b *testing.B) {
	for _, n := range []int{200, 20000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchKeys(b, n) })
	}
}

func benchKeys(b *testing.B, n int) {
	for _, keys := range [][]string{{"j"}, {"space"}, {"k", "space"}} {
		b.Run(fmt.Sprint(keys), func(b *testing.B) {
			m := bigModel(b, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.Update(keyMsg(keys[i%len(keys)]))
				_ = m.View()
			}
		})
	}
	b.Run("filter", func(b *testing.B) {
		m := bigModel(b, n)
		m.Update(keyMsg("/"))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			k := "1"
			if i%2 == 1 {
				k = "backspace"
			}
			m.Update(keyMsg(k))
			_ = m.View()
		}
	})
	b.Run("sort", func(b *testing.B) {
		m := bigModel(b, n)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			m.Update(keyMsg("s"))
			_ = m.View()
		}
	})
}
