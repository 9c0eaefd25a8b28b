package pkg

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadBackup reads the %BACKUP% entries of an installed package straight
// from the local database (DBPath/local/NAME-VERSION/files), for callers
// that loaded the database without file lists and need the backup files
// of only a few packages.
func ReadBackup(dbPath, name, version string) ([]Backup, error) {
	path := filepath.Join(dbPath, "local", name+"-"+version, "files")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read backup entries: %w", err)
	}
	defer f.Close()
	var out []Backup
	in := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "%") && strings.HasSuffix(line, "%"):
			in = line == "%BACKUP%"
		case in && line != "":
			p, hash, _ := strings.Cut(line, "\t")
			out = append(out, Backup{Path: p, Hash: hash})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read backup entries %s: %w", path, err)
	}
	return out, nil
}
