package tfevents

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
)

// Prefix starts the name of every events file; TensorBoard reads all files
// of a folder whose name holds "tfevents", in name order.
const Prefix = "events.out.tfevents."

// Writer appends events to one events file. Each Write is one write(2) of
// whole records to an unbuffered file, so a process killed by SIGKILL loses
// at most the group being written and leaves complete records before it.
type Writer struct {
	f    *os.File
	path string
}

// Create starts a new events file in dir, named so that it sorts after
// every events file already there (TensorBoard reads them in that order):
// events.out.tfevents.<10-digit seconds>.<host>. wall is the time of its
// file_version event. With resumeStep > 0 it also writes SessionLog START at
// resumeStep+1, so that a TensorBoard already showing the folder drops the
// steps the resumed run is about to write again.
func Create(dir string, wall float64, resumeStep int64) (*Writer, error) {
	secs := int64(wall)
	names, err := Files(dir)
	if err != nil {
		return nil, err
	}
	if len(names) > 0 {
		if last := fileSeconds(names[len(names)-1]); last >= secs {
			secs = last + 1
		}
	}
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", "_", string(os.PathSeparator), "_").Replace(host)
	if host == "" {
		host = "localhost"
	}
	path := filepath.Join(dir, fmt.Sprintf("%s%010d.%s", Prefix, secs, host))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	w := &Writer{f: f, path: path}
	first := appendRecord(nil, fileVersionEvent(wall))
	if resumeStep > 0 {
		first = appendRecord(first, startEvent(wall, resumeStep+1))
	}
	if _, err := f.Write(first); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// Path is the file the Writer appends to.
func (w *Writer) Path() string { return w.path }

// Write appends events as one group of records.
func (w *Writer) Write(events ...Event) error {
	var buf []byte
	for _, e := range events {
		b, err := e.encode()
		if err != nil {
			return fmt.Errorf("%s: step %d: %w", w.path, e.Step, err)
		}
		buf = appendRecord(buf, b)
	}
	if _, err := w.f.Write(buf); err != nil {
		return fmt.Errorf("%s: %w", w.path, err)
	}
	return nil
}

// Close syncs and closes the file.
func (w *Writer) Close() error {
	if w == nil || w.f == nil {
		return nil
	}
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	return err
}

// Files lists the events files of dir in name order.
func Files(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), Prefix) && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// fileSeconds is the timestamp field of an events file name (0: none).
func fileSeconds(name string) int64 {
	rest := strings.TrimPrefix(name, Prefix)
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		rest = rest[:i]
	}
	n, _ := strconv.ParseInt(rest, 10, 64)
	return n
}

// Prune cuts the history in dir back to step: every events file loses its
// events after step, its torn or corrupt tail (a write a crash cut short),
// and a file left without any summary is removed. Files that change are
// rewritten atomically; the others are not touched. step < 0 removes every
// events file. A resumed run calls it with its checkpoint's step, as it
// truncates metrics.jsonl, so the steps it writes again appear once.
func Prune(dir string, step int64) error {
	names, err := Files(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, name := range names {
		if err := pruneFile(filepath.Join(dir, name), step); err != nil {
			return err
		}
	}
	return nil
}

func pruneFile(path string, step int64) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	records, good, _ := splitRecords(b)
	var keep []byte
	summaries := 0
	for _, r := range records {
		s, summary, ok := eventInfo(r)
		if !ok || step < 0 || s > step {
			continue
		}
		if summary {
			summaries++
		}
		keep = appendRecord(keep, r)
	}
	switch {
	case summaries == 0:
		return os.Remove(path)
	case len(keep) == good && good == len(b):
		return nil // nothing to drop
	}
	return atomicfile.WriteBytes(path, keep)
}
