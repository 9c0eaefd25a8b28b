package testroot

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// version is a generated package version that can produce strictly older
// and newer versions (by libalpm's vercmp) of itself.
type version struct {
	epoch int
	nums  []int  // dotted pkgver components; for git versions nums[0] is the revision
	pre   string // pre-release tag after the numbers ("rc1"), older than none
	git   string // commit hash of a "rREV.gHASH" pkgver; "" if not a git version
	rel   int
}

func (v version) pkgver() string {
	var b strings.Builder
	if v.epoch > 0 {
		b.WriteString(strconv.Itoa(v.epoch))
		b.WriteByte(':')
	}
	if v.git != "" {
		fmt.Fprintf(&b, "r%d.g%s", v.nums[0], v.git)
		return b.String()
	}
	for i, n := range v.nums {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	b.WriteString(v.pre)
	return b.String()
}

func (v version) String() string {
	return v.pkgver() + "-" + strconv.Itoa(v.rel)
}

func (v version) clone() version {
	v.nums = append([]int(nil), v.nums...)
	return v
}

func randVersion(rng *rand.Rand, git bool) version {
	if git {
		return version{nums: []int{100 + rng.IntN(5000)}, git: randHex(rng, 7), rel: 1}
	}
	v := version{rel: 1 + rng.IntN(3)}
	switch r := rng.IntN(100); {
	case r < 8:
		v.nums = []int{2015 + rng.IntN(10), 1 + rng.IntN(12), 1 + rng.IntN(28)}
		v.nums = []int{v.nums[0]*10000 + v.nums[1]*100 + v.nums[2]}
	case r < 45:
		v.nums = []int{rng.IntN(10), rng.IntN(30)}
	default:
		v.nums = []int{rng.IntN(10), rng.IntN(30), rng.IntN(20)}
	}
	if rng.IntN(100) < 6 {
		v.epoch = 1 + rng.IntN(3)
	}
	if rng.IntN(100) < 4 {
		v.pre = "rc" + strconv.Itoa(1+rng.IntN(4))
	}
	return v
}

// older returns a version that vercmp orders strictly before v; false when
// there is none this generator can write (0.0alpha-1).
func (v version) older(rng *rand.Rand) (version, bool) {
	o := v.clone()
	switch {
	case v.epoch > 0 && rng.IntN(100) < 25:
		// Before the epoch bump the numbers were larger: 9.x < 1:0.x.
		o.epoch--
		o.nums = []int{v.nums[0] + 9, 9}
		o.git, o.pre = "", ""
		o.rel = 1
		return o, true
	case v.rel > 1 && rng.IntN(2) == 0:
		o.rel--
		return o, true
	case v.git != "":
		if o.nums[0] > 1 {
			o.nums[0] -= 1 + rng.IntN(min(o.nums[0]-1, 20)+1)
			o.nums[0] = max(o.nums[0], 1)
			o.git = randHex(rng, 7)
			o.rel = 1
			return o, true
		}
	case v.pre == "" && rng.IntN(100) < 10:
		o.pre = "rc1"
		o.rel = 1
		return o, true
	}
	for i := len(o.nums) - 1; i >= 0; i-- {
		if o.nums[i] > 0 {
			o.nums[i]--
			for j := i + 1; j < len(o.nums); j++ {
				o.nums[j] = 9
			}
			o.pre = ""
			o.rel = 1 + rng.IntN(2)
			return o, true
		}
	}
	if o.rel > 1 {
		o.rel--
		return o, true
	}
	if o.pre == "" {
		o.pre = "rc1"
		return o, true
	}
	if o.pre != "alpha" {
		o.pre = "alpha"
		return o, true
	}
	return v, false
}

// newer returns the next pkgrel.
func (v version) newer() version {
	o := v.clone()
	o.rel++
	return o
}

func randHex(rng *rand.Rand, n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[rng.IntN(16)]
	}
	return string(b)
}
