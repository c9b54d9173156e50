package runtime

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
)

// fakeRoot writes files (path relative to root -> content) under a
// temporary folder standing in for /.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const (
	mountsV1 = "30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n" +
		"31 25 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
		"32 25 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	mountsV2 = "30 25 0:26 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n"
)

func TestCgroupCPULimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  float64 // 0: no limit
	}{
		{"v1 quota", map[string]string{
			"proc/self/mountinfo":                           mountsV1,
			"proc/self/cgroup":                              "4:memory:/m\n1:cpu:/job\n0::/\n",
			"sys/fs/cgroup/cpu/job/cpu.cfs_quota_us":        "150000\n",
			"sys/fs/cgroup/cpu/job/cpu.cfs_period_us":       "100000\n",
			"sys/fs/cgroup/cpu/cpu.cfs_quota_us":            "-1\n",
			"sys/fs/cgroup/cpu/cpu.cfs_period_us":           "100000\n",
			"sys/fs/cgroup/memory/m/memory.limit_in_bytes":  "1000\n",
			"sys/fs/cgroup/unified/cgroup.controllers":      "",
			"sys/fs/cgroup/cpu/other/cpu.cfs_quota_us":      "10000\n", // not ours
			"sys/fs/cgroup/cpu/other/cpu.cfs_period_us":     "100000\n",
			"sys/fs/cgroup/cpu/job/child/cpu.cfs_quota_us":  "10000\n", // below ours
			"sys/fs/cgroup/cpu/job/child/cpu.cfs_period_us": "100000\n",
		}, 1.5},
		{"v1 unlimited", map[string]string{
			"proc/self/mountinfo":                 mountsV1,
			"proc/self/cgroup":                    "1:cpu,cpuacct:/\n0::/\n",
			"sys/fs/cgroup/cpu/cpu.cfs_quota_us":  "-1\n",
			"sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
		}, 0},
		{"v2 max", map[string]string{
			"proc/self/mountinfo":          mountsV2,
			"proc/self/cgroup":             "0::/user.slice/a\n",
			"sys/fs/cgroup/user.slice/a/x": "",
			"sys/fs/cgroup/cpu.max":        "max 100000\n",
		}, 0},
		{"v2 parent limit is the smaller", map[string]string{
			"proc/self/mountinfo":                    mountsV2,
			"proc/self/cgroup":                       "0::/kubepods/pod1/c1\n",
			"sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "400000 100000\n",
			"sys/fs/cgroup/kubepods/pod1/cpu.max":    "250000 100000\n",
			"sys/fs/cgroup/kubepods/cpu.max":         "max 100000\n",
		}, 2.5},
		{"v2 namespace (mount root is the process's cgroup)", map[string]string{
			"proc/self/mountinfo":   "30 25 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"proc/self/cgroup":      "0::/\n",
			"sys/fs/cgroup/cpu.max": "50000 100000\n",
		}, 0.5},
		{"no cgroup files", map[string]string{"proc/self/mountinfo": ""}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := cgroupCPULimit(fakeRoot(t, tc.files))
			if !ok {
				got = 0
			}
			if got != tc.want {
				t.Errorf("limit %g (found %v), want %g", got, ok, tc.want)
			}
		})
	}
}

// TestDefaultThreadsAreUsableCores checks the default intra-op thread count
// against Go's own count of the CPUs this process may use (GOMAXPROCS
// reads the affinity mask and, since Go 1.25, the cgroup quota), and in a
// child process restricted to one CPU with taskset.
func TestDefaultThreadsAreUsableCores(t *testing.T) {
	if os.Getenv("TGAN_TEST_CORES_CHILD") == "1" {
		fmt.Printf("cores=%d\n", UsableCores())
		return
	}
	env := openEnv(t, Options{})
	if got, want := env.Options().IntraOpThreads, UsableCores(); got != want {
		t.Errorf("default IntraOpThreads = %d, want UsableCores() = %d", got, want)
	}
	if env := openEnv(t, Options{IntraOpThreads: 3}); env.Options().IntraOpThreads != 3 {
		t.Errorf("IntraOpThreads 3 became %d", env.Options().IntraOpThreads)
	}
	limit, limited := cgroupCPULimit("/")
	if os.Getenv("GOMAXPROCS") == "" && (!limited || limit > 2) {
		if got, want := UsableCores(), goruntime.GOMAXPROCS(0); got != want {
			t.Errorf("UsableCores() = %d, Go's GOMAXPROCS = %d (cgroup limit %g, found %v)", got, want, limit, limited)
		}
	}
	if goruntime.NumCPU() < 2 {
		return
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		t.Skip("no taskset to check a one-CPU affinity mask")
	}
	cmd := exec.Command(taskset, "-c", "0", os.Args[0], "-test.run", "^TestDefaultThreadsAreUsableCores$")
	cmd.Env = append(os.Environ(), "TGAN_TEST_CORES_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	_, after, _ := strings.Cut(string(out), "cores=")
	n, err := strconv.Atoi(strings.Fields(after + " x")[0])
	if err != nil || n != 1 {
		t.Errorf("under taskset -c 0: UsableCores() = %q, want 1\n%s", after, out)
	}
}

// TestSpinEnv runs the tiny generator with spinning turned off by the
// environment: the session applied the override, and the numbers are the
// reference's.
func TestSpinEnv(t *testing.T) {
	t.Setenv(SpinEnv, "off")
	env := openEnv(t, Options{})
	m := openModel(t, env, "tiny_gen.onnx")
	if m.SessionOptions().Spinning {
		t.Fatalf("%s=off not applied: %+v", SpinEnv, m.SessionOptions())
	}
	e := loadExpected(t)
	out, _, err := m.Run(e.Input, e.InputShape)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, out, e.Output, 1e-5)
	t.Setenv(SpinEnv, "1")
	if o, err := ApplyEnv(TrainingSessionOptions(CPU)); err != nil || !o.Spinning {
		t.Errorf("%s=1 on training options: %+v, %v; want spinning on", SpinEnv, o, err)
	}
}
