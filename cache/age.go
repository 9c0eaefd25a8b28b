package cache

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseAge reads a --min-age value: a Go duration ("12h", "90m") or a
// number of days or weeks ("30d", "2w", "1.5d"). "0" is no minimum.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		unit = 7 * 24 * time.Hour
	}
	if unit != 0 {
		n, err := strconv.ParseFloat(s[:len(s)-1], 64)
		// !(n >= 0) also refuses NaN; an age past time.Duration's range
		// would wrap to a negative one, which means no minimum at all.
		if err != nil || !(n >= 0) || n*float64(unit) >= math.MaxInt64 {
			return 0, fmt.Errorf("invalid age %q: want e.g. 30d, 2w, 12h", s)
		}
		return time.Duration(n * float64(unit)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid age %q: want e.g. 30d, 2w, 12h", s)
	}
	return d, nil
}
