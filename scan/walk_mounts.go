package scan

import (
	"bufio"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/pactidy/pactidy/internal/fsafe"
)

// mountPlan says which mount points below the root the walk enters.
type mountPlan struct {
	// points are every mount point strictly below the root (relative).
	points map[string]bool
	// skip are the mount points not entered, with the reason.
	skip map[string]string
}

// pseudoFS are file systems that hold no package files, or that are remote
// (slow, and not this machine's packages).
var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "tmpfs": true, "devtmpfs": true, "devpts": true,
	"cgroup": true, "cgroup2": true, "mqueue": true, "debugfs": true, "tracefs": true,
	"securityfs": true, "pstore": true, "bpf": true, "configfs": true, "hugetlbfs": true,
	"autofs": true, "binfmt_misc": true, "efivarfs": true, "fusectl": true, "ramfs": true,
	"rpc_pipefs": true, "nsfs": true,
	"nfs": true, "nfs4": true, "cifs": true, "smb3": true, "smbfs": true, "ceph": true,
	"9p": true, "afs": true, "sshfs": true, "davfs": true, "glusterfs": true,
}

func isPseudoFS(t string) bool {
	return pseudoFS[t] || t == "fuse" || strings.HasPrefix(t, "fuse.") || strings.HasPrefix(t, "fuseblk")
}

// Magic numbers (statfs f_type) of the same file systems, for mount
// points that mountinfo did not list.
var pseudoMagic = map[int64]bool{
	0x9fa0: true, 0x62656572: true, 0x01021994: true, 0x1cd1: true, 0x27e0eb: true,
	0x63677270: true, 0x19800202: true, 0x64626720: true, 0x74726163: true, 0x73636673: true,
	0x6165676c: true, 0xcafe4a11: true, 0x62656570: true, 0x958458f6: true, 0x0187: true,
	0x42494e4d: true, 0xde5e81e4: true, 0x65735543: true, 0x858458f6: true,
	0x6969: true, 0xff534d42: true, 0xfe534d42: true, 0x517b: true, 0x00c36400: true,
	0x01021997: true, 0x5346414f: true, 0x65735546: true,
}

type mountEntry struct {
	id    int
	dev   string // major:minor
	root  string // path inside the file system that is mounted
	point string
	fs    string
}

// readMountInfo parses /proc/self/mountinfo; nil when it cannot be read.
func readMountInfo(file string) []mountEntry {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mountEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		id, _ := strconv.Atoi(fields[0])
		out = append(out, mountEntry{
			id:    id,
			dev:   fields[2],
			root:  fsafe.UnescapeMount(fields[3]),
			point: fsafe.UnescapeMount(fields[4]),
			fs:    fields[sep+1],
		})
	}
	return out
}

// below returns p relative to root when p is strictly inside root.
func relBelow(p, root string) (string, bool) {
	if root == "/" {
		if p == "/" || !strings.HasPrefix(p, "/") {
			return "", false
		}
		return p[1:], true
	}
	rest, ok := strings.CutPrefix(p, root+"/")
	return rest, ok && rest != ""
}

func pathWithin(p, root string) bool {
	_, ok := relBelow(p, root)
	return ok || p == root
}

// planMounts decides, from the running system's mount table, which mount
// points below root are pseudo or network file systems, and which bind
// mounts show a directory that the walk reaches elsewhere anyway (so that
// it is walked once, and loops end).
func planMounts(mountinfo, root string, excl *excludes) mountPlan {
	plan := mountPlan{points: map[string]bool{}, skip: map[string]string{}}
	mounts := readMountInfo(mountinfo)
	sort.SliceStable(mounts, func(i, j int) bool { return mounts[i].id < mounts[j].id })
	for _, m := range mounts {
		rel, ok := relBelow(m.point, root)
		if !ok {
			continue
		}
		plan.points[rel] = true
		if isPseudoFS(m.fs) {
			plan.skip[rel] = m.fs + " file system"
			continue
		}
		for _, src := range bindSources(m, mounts) {
			if src != m.point && pathWithin(src, root) && !excl.covers(src, root) && !plan.skipped(src, root) {
				plan.skip[rel] = "bind mount of " + src
				break
			}
		}
	}
	return plan
}

// skipped reports whether the walk does not reach p because it is at or
// below a skipped mount point.
func (plan mountPlan) skipped(p, root string) bool {
	rel, ok := relBelow(p, root)
	for ok {
		if plan.skip[rel] != "" {
			return true
		}
		i := strings.LastIndexByte(rel, '/')
		if i < 0 {
			return false
		}
		rel = rel[:i]
	}
	return false
}

// bindSources lists where else the directory mounted by m is visible:
// below earlier mounts of the same file system whose root contains m's
// root.
func bindSources(m mountEntry, all []mountEntry) []string {
	var out []string
	for _, o := range all {
		if o.id >= m.id || o.dev != m.dev || isPseudoFS(o.fs) {
			continue
		}
		var rest string
		switch {
		case o.root == "/":
			rest = m.root
		case m.root == o.root:
			rest = "/"
		case strings.HasPrefix(m.root, o.root+"/"):
			rest = m.root[len(o.root):]
		default:
			continue
		}
		src := strings.TrimSuffix(o.point, "/") + rest
		if src != "/" {
			src = strings.TrimSuffix(src, "/")
		}
		out = append(out, src)
	}
	return out
}

// swapFiles returns the swap files under root (relative), from /proc/swaps.
func swapFiles(file, root string) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 2 || f[1] != "file" {
			continue
		}
		if rel, ok := relBelow(fsafe.UnescapeMount(f[0]), root); ok {
			out = append(out, rel)
		}
	}
	return out
}

// isPseudoFd reports whether the open directory is on a pseudo or network
// file system.
func isPseudoFd(fd int) bool {
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(fd, &st); err != nil {
		return false
	}
	return pseudoMagic[int64(st.Type)]
}

// covers reports whether the walk never reaches the absolute path p
// because it or an ancestor is excluded.
func (e *excludes) covers(p, root string) bool {
	rel, ok := relBelow(p, root)
	if !ok {
		return false
	}
	for {
		if e.has([]byte(rel), true) {
			return true
		}
		i := strings.LastIndexByte(rel, '/')
		if i < 0 {
			return false
		}
		rel = rel[:i]
	}
}
