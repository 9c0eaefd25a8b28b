package quarantine

import (
	"fmt"
	"sort"
	"time"
)

// Phases of an entry, replayed from the journal.
const (
	phaseMoving     = "moving"      // intent written, neither done nor aborted
	phaseIn         = "quarantined" // in data/N with its manifest
	phaseDeleted    = "deleted"     // removed for good
	phaseInPlace    = "in place"    // aborted or rolled back
	phaseRestoring  = "restoring"   // restore intent written
	phaseRestored   = "restored"
	phaseIncomplete = "in quarantine, original partly left" // done with an error
)

// entryState is one entry as the journal tells it.
type entryState struct {
	N      int
	Path   string
	Type   Type
	Op     string
	Dev    uint64
	Ino    uint64
	Phase  string
	Err    string
	Reason string // a skip or failure reason of the last abort

	Objects int
	Bytes   int64

	// The last restore.
	RestoreOp  string
	RestoreIno uint64
	Tmp        string
	CopiedIno  uint64
	Placed     bool
	// Recovered says what recovery did, if anything.
	Recovered string
}

// history is a run's journal replayed.
type history struct {
	Begin   record
	Created time.Time
	Root    string
	Delete  bool
	End     *record
	Entries map[int]*entryState
}

func replay(recs []record) (*history, error) {
	h := &history{Entries: map[int]*entryState{}}
	for i, r := range recs {
		if i == 0 {
			if r.T != recBegin {
				return nil, fmt.Errorf("journal does not start with %q", recBegin)
			}
			h.Begin, h.Created, h.Root, h.Delete = r, r.Time, string(r.Root), r.Delete
			continue
		}
		e := h.Entries[r.N]
		switch r.T {
		case recIntent:
			if e == nil {
				e = &entryState{N: r.N}
				h.Entries[r.N] = e
			}
			e.Path, e.Type, e.Op, e.Dev, e.Ino, e.Phase = string(r.Path), r.Type, r.Op, r.Dev, r.Ino, phaseMoving
			continue
		case recEnd:
			rr := r
			h.End = &rr
			continue
		case recBegin:
			return nil, fmt.Errorf("journal line %d: a second %q", i+1, recBegin)
		}
		if e == nil {
			return nil, fmt.Errorf("journal line %d: %q of entry %d before its intent", i+1, r.T, r.N)
		}
		switch r.T {
		case recDone:
			e.Phase, e.Objects, e.Bytes, e.Err = phaseIn, r.Objects, r.Bytes, r.Err
			if e.Op == MethodDelete {
				e.Phase = phaseDeleted
			}
			if r.Err != "" {
				e.Phase = phaseIncomplete
			}
		case recAbort:
			e.Phase, e.Err = phaseInPlace, r.Err
		case recRestore:
			e.Phase, e.RestoreOp, e.RestoreIno, e.Tmp, e.CopiedIno, e.Placed = phaseRestoring, r.Op, r.Ino, r.Tmp, 0, false
		case recCopied:
			e.CopiedIno = r.Ino
		case recPlaced:
			e.Placed = true
		case recRestored:
			e.Phase = phaseRestored
		case recRestoreAbort:
			e.Phase = phaseIn
		case recRecovered:
			e.Recovered = r.How
		}
	}
	if len(recs) == 0 {
		return nil, errNoJournal
	}
	return h, nil
}

func (h *history) sorted() []*entryState {
	out := make([]*entryState, 0, len(h.Entries))
	for _, e := range h.Entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].N < out[j].N })
	return out
}
