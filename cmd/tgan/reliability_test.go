package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/internal/checkpoint"
)

// buildTgan builds the binary into a temporary folder.
func buildTgan(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tgan")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// syntheticCIFAR writes a 200-record CIFAR-10 batch (labels and pixels from
// a fixed generator) into dir and returns dir.
func syntheticCIFAR(t *testing.T, dir string) string {
	t.Helper()
	const record = 1 + 3*32*32
	b := make([]byte, 200*record)
	rand.New(rand.NewSource(7)).Read(b)
	for i := 0; i < 200; i++ {
		b[i*record] = byte(i % 10)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data_batch_1.bin"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var savedRE = regexp.MustCompile(`saved ckpt-(\d+)\.safetensors`)

// trainProc is one `tgan train` process whose output is watched for saves.
type trainProc struct {
	cmd       *exec.Cmd
	mu        sync.Mutex
	lastSaved int // highest step reported saved, -1 before the first
	out       bytes.Buffer
	done      chan error
}

func startTrain(t *testing.T, bin string, args ...string) *trainProc {
	t.Helper()
	tr := &trainProc{cmd: exec.Command(bin, args...), lastSaved: -1, done: make(chan error, 1)}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	tr.cmd.Stdout, tr.cmd.Stderr = pw, pw
	if err := tr.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			tr.mu.Lock()
			tr.out.WriteString(sc.Text() + "\n")
			if m := savedRE.FindStringSubmatch(sc.Text()); m != nil {
				n, _ := strconv.Atoi(m[1])
				tr.lastSaved = max(tr.lastSaved, n)
			}
			tr.mu.Unlock()
		}
	}()
	go func() {
		err := tr.cmd.Wait()
		<-scanned
		tr.done <- err
	}()
	return tr
}

func (tr *trainProc) saved() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.lastSaved
}

func (tr *trainProc) output() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.out.String()
}

// waitSaved waits until the process has reported a save at or after step.
func (tr *trainProc) waitSaved(t *testing.T, step int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for tr.saved() < step {
		select {
		case err := <-tr.done:
			t.Fatalf("train exited (%v) before saving step %d:\n%s", err, step, tr.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no save of step %d within 60s:\n%s", step, tr.output())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to go.
func (tr *trainProc) kill(t *testing.T) {
	t.Helper()
	tr.cmd.Process.Signal(syscall.SIGKILL)
	<-tr.done
}

// waitTempFile polls run for a checkpoint temp file (a write in progress).
func waitTempFile(run string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir(run)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".ckpt-") && strings.Contains(e.Name(), ".tmp") {
				return true
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	return false
}

// checkRun verifies a killed run folder: latest names a checkpoint that
// loads, every visible checkpoint loads (no partial file looks like one),
// and the latest is no older than the last save the process reported.
// It returns the latest step and the temp files left behind.
func checkRun(t *testing.T, run string, reported int) (latest int, leftovers []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(run, "latest"))
	if err != nil {
		t.Fatalf("after kill: %v", err)
	}
	name := strings.TrimSpace(string(b))
	if _, err := checkpoint.Load(filepath.Join(run, name)); err != nil {
		t.Fatalf("after kill, latest %q does not load: %v", name, err)
	}
	if _, err := fmt.Sscanf(name, "ckpt-%d.safetensors", &latest); err != nil {
		t.Fatalf("latest names %q", name)
	}
	ents, _ := os.ReadDir(run)
	for _, e := range ents {
		switch {
		case strings.HasPrefix(e.Name(), "."):
			leftovers = append(leftovers, e.Name())
		case strings.HasSuffix(e.Name(), ".safetensors"):
			if _, err := checkpoint.Load(filepath.Join(run, e.Name())); err != nil {
				t.Errorf("after kill, %s looks like a checkpoint but does not load: %v", e.Name(), err)
			}
		}
	}
	if latest < reported {
		t.Errorf("latest is step %d, but the process had reported saving step %d", latest, reported)
	}
	return latest, leftovers
}

// TestCrashSafety kills training with SIGKILL at random moments (half of
// them while a checkpoint is being written) and checks that every resume
// works and at most the steps since the last checkpoint are lost.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for ~30s")
	}
	bin := buildTgan(t)
	tmp := t.TempDir()
	data := syntheticCIFAR(t, filepath.Join(tmp, "cifar"))
	run := filepath.Join(tmp, "run")
	const far = 100000 // never reached: every round ends with a kill
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	args := []string{"train", "--preset", "tiny", "--dataset", "cifar10", "--data", data, "--out", run,
		"--steps", strconv.Itoa(far), "--checkpoint-every", "1", "--batch", "4", "--samples", "4", "--keep", "2"}
	tr := startTrain(t, bin, args...)
	tr.waitSaved(t, 1)
	step := 1
	for round := 0; round < 6; round++ {
		duringWrite := round%2 == 1
		if duringWrite {
			if !waitTempFile(run, 20*time.Second) {
				t.Fatalf("round %d: no checkpoint temp file seen within 20s", round)
			}
		} else {
			time.Sleep(time.Duration(rng.Intn(1500)) * time.Millisecond)
		}
		reported := tr.saved()
		tr.kill(t)
		latest, leftovers := checkRun(t, run, reported)
		t.Logf("round %d: killed %s; reported saved %d, latest %d, temp files left: %v",
			round, map[bool]string{true: "during a checkpoint write", false: "at a random moment"}[duringWrite],
			reported, latest, leftovers)
		if latest < step {
			t.Errorf("round %d: latest %d went back from %d", round, latest, step)
		}
		step = latest
		tr = startTrain(t, bin, "train", "--resume", run, "--steps", strconv.Itoa(far))
		tr.waitSaved(t, step+1) // the resumed run continues from latest
	}
	tr.kill(t)
	final, _ := checkRun(t, run, tr.saved())
	// A resume to a reachable target finishes cleanly.
	tr = startTrain(t, bin, "train", "--resume", run, "--steps", strconv.Itoa(final+2))
	if err := <-tr.done; err != nil {
		t.Fatalf("final resume: %v\n%s", err, tr.output())
	}
	if got, _ := checkRun(t, run, final+2); got != final+2 {
		t.Errorf("final resume ended at step %d, want %d", got, final+2)
	}
	if !strings.Contains(tr.output(), fmt.Sprintf("G step %d -> %d", final, final+2)) {
		t.Errorf("final resume did not start at step %d:\n%s", final, tr.output())
	}
}

// TestUnwritableRunFolder checks the errors for run folders that cannot be
// written: a path through a file, a read-only file system, and a full disk.
func TestUnwritableRunFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildTgan(t)
	tmp := t.TempDir()
	data := syntheticCIFAR(t, filepath.Join(tmp, "cifar"))
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, nil, 0o644)
	train := func(out string) []string {
		return []string{"train", "--preset", "tiny", "--dataset", "cifar10", "--data", data, "--out", out,
			"--steps", "2", "--checkpoint-every", "1", "--batch", "4", "--samples", "4"}
	}
	type tcase struct {
		name string
		args []string
		want string
	}
	cases := []tcase{
		{"file where a folder should be", train(filepath.Join(file, "run")), "not a directory"},
		{"under /proc", train("/proc/tgan-run"), "/proc/tgan-run"},
	}
	// Read-only and full file systems need mounts (root in a container or
	// VM); permissions alone do not stop root.
	if ro := filepath.Join(tmp, "ro"); mount(t, "--bind", tmp, ro) && mount(t, "-o", "remount,bind,ro", ro) {
		cases = append(cases, tcase{"read-only file system", train(filepath.Join(ro, "run")), "read-only file system"})
	} else if os.Geteuid() != 0 {
		dir := filepath.Join(tmp, "readonly")
		os.Mkdir(dir, 0o555)
		cases = append(cases, tcase{"read-only folder", train(filepath.Join(dir, "run")), "permission denied"})
	}
	if full := filepath.Join(tmp, "full"); mount(t, "-t", "tmpfs", "-o", "size=4m", "tmpfs", full) {
		cases = append(cases, tcase{"disk full", train(filepath.Join(full, "run")), "no space left on device"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := exec.Command(bin, c.args...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			msg := stderr.String()
			last := strings.TrimSpace(msg[strings.LastIndex(strings.TrimRight(msg, "\n"), "\n")+1:])
			if err == nil || !strings.HasPrefix(last, "tgan: ") || !strings.Contains(last, c.want) {
				t.Errorf("exit %v, last stderr line %q: want an error \"tgan: ...%s...\"", err, last, c.want)
			}
			if strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine ") {
				t.Errorf("stack trace in stderr:\n%s", msg)
			}
			t.Logf("%s", last)
		})
	}
}

// mount runs mount(8) with args (the last is the mount point, created
// here) and unmounts at cleanup; false when mounting is not permitted.
func mount(t *testing.T, args ...string) bool {
	t.Helper()
	dir := args[len(args)-1]
	if os.MkdirAll(dir, 0o755) != nil {
		return false
	}
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		t.Logf("mount %v: %v %s (check skipped)", args, err, out)
		return false
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return true
}
