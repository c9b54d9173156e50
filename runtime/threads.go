package runtime

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
)

// UsableCores returns how many CPUs this process may keep busy: the CPUs in
// its affinity mask (runtime.NumCPU, read by Go at start-up) lowered to the
// CPU quota of its cgroup (v1 cpu.cfs_quota_us or v2 cpu.max, the smallest
// along the cgroup's ancestors), rounded up, at least 1.
//
// It is the default intra-op thread count: ONNX Runtime's own default
// counts physical cores as its CPU detection reports them, which on small
// VMs and containers is often fewer (or more) than the process may use.
// Go's GOMAXPROCS applies the same two limits since Go 1.25 but never
// goes below 2 for a quota; a quota of one CPU gives 1 here.
func UsableCores() int {
	n := goruntime.NumCPU()
	if limit, ok := cgroupCPULimit("/"); ok {
		n = min(n, max(1, int(math.Ceil(limit))))
	}
	return max(1, n)
}

// cgroupCPULimit returns the CPU bandwidth limit (quota/period, in CPUs)
// of this process's cgroups, v1 and v2, and whether there is one. root
// prefixes every path it reads (tests point it at a fake /proc and /sys).
func cgroupCPULimit(root string) (float64, bool) {
	mounts := cgroupMounts(filepath.Join(root, "proc/self/mountinfo"))
	best, found := math.Inf(1), false
	for _, g := range selfCgroups(filepath.Join(root, "proc/self/cgroup")) {
		for _, mnt := range mounts {
			if mnt.v2 != g.v2 || (!g.v2 && !hasController(g.controllers, "cpu")) {
				continue
			}
			if !mnt.v2 && !hasController(mnt.options, "cpu") {
				continue
			}
			top := filepath.Join(root, mnt.point)
			rel, ok := strings.CutPrefix(g.path, mnt.root)
			if !ok {
				rel = "" // a cgroup namespace: the mount is the process's own cgroup
			}
			for dir := filepath.Join(top, rel); strings.HasPrefix(dir, top); dir = filepath.Dir(dir) {
				if l, ok := readCPULimit(dir, g.v2); ok && l < best {
					best, found = l, true
				}
				if dir == top {
					break
				}
			}
		}
	}
	return best, found
}

// readCPULimit reads one cgroup folder's quota: cpu.max ("max 100000" or
// "150000 100000") for v2, cpu.cfs_quota_us (-1: none) and
// cpu.cfs_period_us for v1.
func readCPULimit(dir string, v2 bool) (float64, bool) {
	var quota, period float64
	var err1, err2 error
	if v2 {
		b, err := os.ReadFile(filepath.Join(dir, "cpu.max"))
		f := strings.Fields(string(b))
		if err != nil || len(f) != 2 || f[0] == "max" {
			return 0, false
		}
		quota, err1 = strconv.ParseFloat(f[0], 64)
		period, err2 = strconv.ParseFloat(f[1], 64)
	} else {
		quota, err1 = readFloat(filepath.Join(dir, "cpu.cfs_quota_us"))
		period, err2 = readFloat(filepath.Join(dir, "cpu.cfs_period_us"))
	}
	if err1 != nil || err2 != nil || quota <= 0 || period <= 0 {
		return 0, false
	}
	return quota / period, true
}

func readFloat(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
}

// cgroupMount is one cgroup file system from /proc/self/mountinfo.
type cgroupMount struct {
	root, point string // the cgroup path mounted, and where
	options     string // v1 super options, naming the controllers
	v2          bool
}

func cgroupMounts(path string) []cgroupMount {
	var out []cgroupMount
	eachLine(path, func(line string) {
		// "36 35 0:30 /root /sys/fs/cgroup/cpu rw,... shared:1 - cgroup cgroup rw,cpu"
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			return
		}
		out = append(out, cgroupMount{root: f[3], point: f[4], options: g[2], v2: g[0] == "cgroup2"})
	})
	return out
}

// selfCgroup is one line of /proc/self/cgroup: "ID:controllers:path".
type selfCgroup struct {
	controllers, path string
	v2                bool
}

func selfCgroups(path string) []selfCgroup {
	var out []selfCgroup
	eachLine(path, func(line string) {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			return
		}
		out = append(out, selfCgroup{controllers: f[1], path: f[2], v2: f[0] == "0" && f[1] == ""})
	})
	return out
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

func eachLine(path string, f func(string)) {
	file, err := os.Open(path)
	if err != nil {
		return
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		f(sc.Text())
	}
}
