// Package quarantine moves files out of the way so that they can be put
// back: the restorable "removal" of unowned files (and of stale user data,
// as the owning user, into that user's own store).
//
// A Store is a directory (by default DefaultDir(root), that is
// ROOT/var/lib/pactidy/quarantine; UserDir(home) for a user's files) that
// holds one directory per run, named by an ID that sorts by time
// (20261202T031500-abcd). A run holds:
//
//	journal    one JSON record a line: an intent before each step, a done
//	           (or abort) record after it, each written and fsynced before
//	           the step (or the next one) starts
//	manifest   one JSON line for every object of every quarantined entry
//	           (original path as exact bytes, type, size, sha256 of regular
//	           files, mode, uid, gid, mtime), closed per entry by an end line
//	data/N     the N-th entry itself, with its tree, contents and metadata
//
// Using it:
//
//	st, err := quarantine.Open(dir)       // creates the store if needed
//	recs, err := st.Recover()             // first: finish interrupted runs
//	run, err := st.Begin(quarantine.Options{Root: root, Owned: owned, Allowed: allowed, Progress: fn})
//	for _, e := range entries {           // e: an Entry, seen at scan time
//		res := run.Quarantine(e)          // or run.QuarantineAll(ctx, entries)
//		// res.Err is nil, a *SkipError (errors.Is ErrChanged, ErrOwned, ...)
//		// or another error; the entry is then untouched
//	}
//	err = run.Close()
//
// Before acting on an entry, Quarantine checks again that it is the very
// object the scan saw (type, device, inode and size), that no installed
// package owns it (Options.Owned) and the allowlist does not cover it
// (Options.Allowed), that it is inside the root, neither the root nor a
// top-level directory, neither a mount point nor above one, and not the
// store itself. It reaches the entry by directory handles from the root
// down, never following a symlink. On the store's file system it renames
// the entry into data/N; on another one it copies the tree keeping type,
// contents, mode, owner, group, timestamps, extended attributes (ACLs
// included) and hard links, fsyncs, verifies the copy's hashes and only
// then removes the original, by handle and only the objects it copied.
//
// Every step is journaled, so a run interrupted by a signal, a crash or a
// power loss is completed or rolled back by the next Recover: every entry
// ends up either in place or in the quarantine with its manifest lines,
// never in between and never in both. Close marks a run finished; List
// reports each run's state, including what recovery did.
//
// Restore puts entries back byte-identical with their metadata (it refuses
// to overwrite a path that exists again unless forced, and then the
// existing object is itself quarantined); Purge deletes runs for good.
// Options.Delete removes entries permanently instead (the journal and
// manifest still record them); callers use it only when explicitly asked.
//
// The package never prints: results come back as values and through the
// Options.Progress callback.
package quarantine
