// Package progress holds the live counters an engine adds to while it
// works and a front end samples (atomically, from another goroutine) to
// show progress. A nil *Counters counts nothing, so engines call Add
// unconditionally.
package progress

import "sync/atomic"

// Counters are running totals. What each counts depends on the work:
// packages read from the database, directories listed, entries looked at
// (directory entries, files checked), bytes counted.
type Counters struct {
	Packages atomic.Int64
	Dirs     atomic.Int64
	Entries  atomic.Int64
	Bytes    atomic.Int64
}

// Add adds to the counters; on a nil *Counters it does nothing.
func (c *Counters) Add(packages, dirs, entries, bytes int64) {
	if c == nil {
		return
	}
	if packages != 0 {
		c.Packages.Add(packages)
	}
	if dirs != 0 {
		c.Dirs.Add(dirs)
	}
	if entries != 0 {
		c.Entries.Add(entries)
	}
	if bytes != 0 {
		c.Bytes.Add(bytes)
	}
}

// Snapshot is the counters' values at one moment.
type Snapshot struct {
	Packages, Dirs, Entries, Bytes int64
}

// Load reads the counters (each atomically; together only roughly at
// the same moment). A nil *Counters reads as zero.
func (c *Counters) Load() Snapshot {
	if c == nil {
		return Snapshot{}
	}
	return Snapshot{Packages: c.Packages.Load(), Dirs: c.Dirs.Load(), Entries: c.Entries.Load(), Bytes: c.Bytes.Load()}
}
