package tui

import (
	"reflect"
	"regexp"
	"testing"

	"charm.land/lipgloss/v2"
)

// colourSGR matches SGR parameters that set a foreground or background
// colour (30-37, 38;..., 40-47, 48;..., 90-97, 100-107).
var colourSGR = regexp.MustCompile(`\x1b\[(?:[0-9;]*;)?(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:[;m])`)

// TestStylesWithoutColour: for NO_COLOR and --color never, no style
// sets a colour; with colour some do.
func TestStylesWithoutColour(t *testing.T) {
	coloured := 0
	for _, color := range []bool{false, true} {
		st := NewStyles(color)
		v := reflect.ValueOf(st).Elem()
		for i := 0; i < v.NumField(); i++ {
			s, ok := v.Field(i).Interface().(lipgloss.Style)
			if !ok {
				continue
			}
			out := s.Render("x")
			if colourSGR.MatchString(out) {
				if !color {
					t.Errorf("%s sets a colour without colour: %q", v.Type().Field(i).Name, out)
				}
				coloured++
			}
		}
	}
	if coloured == 0 {
		t.Error("no style has a colour even with colour on (the check sees nothing)")
	}
	// The whole screen, too.
	m := newTestModel(t, 120, 40)
	deliverAll(m, sampleReport())
	press(t, m, "space", "tab", "tab", "tab", "space")
	if out := m.render(); colourSGR.MatchString(out) {
		t.Errorf("the screen has colours without colour: %q", colourSGR.FindString(out))
	}
}
