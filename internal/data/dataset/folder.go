package dataset

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/tgan-dev/tgan/internal/fileio/imageio"
)

// ImageFiles lists the PNG and JPEG files under dir, recursively, in
// lexical order.
func ImageFiles(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("folder: %s is not a directory", dir)
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".png", ".jpg", ".jpeg":
			if d.Type().IsRegular() {
				files = append(files, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("folder: no PNG or JPEG images under %s", dir)
	}
	return files, nil
}

// openFolder loads a folder as Kind Folder: in memory (LoadFolder) unless
// the decoded images would exceed MaxInMemory, then lazily with the same
// crop and resize.
func openFolder(dir string, size int) (Source, error) {
	files, err := ImageFiles(dir)
	if err != nil {
		return nil, err
	}
	if int64(len(files))*3*int64(size)*int64(size) <= MaxInMemory {
		return source(LoadFolder(dir, size))
	}
	if err := checkHeaders(files, size); err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	return &Lazy{name: string(Folder), files: files, size: size, decode: decodeSquare}, nil
}

// LoadFolder decodes every PNG/JPEG under dir (see ImageFiles) as RGB,
// center-cropped and resized to size, using all CPUs.
func LoadFolder(dir string, size int) (*Memory, error) {
	files, err := ImageFiles(dir)
	if err != nil {
		return nil, err
	}
	imgs := make([][]uint8, len(files))
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				imgs[i], errs[i] = decodeSquare(files[i], size)
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	m := NewMemory(string(Folder), 3, size)
	for i, img := range imgs {
		if errs[i] != nil {
			return nil, fmt.Errorf("folder: %w", errs[i])
		}
		m.pix = append(m.pix, img...)
	}
	return m, nil
}

// decodeSquare decodes one file into size x size RGB planes.
func decodeSquare(path string, size int) ([]uint8, error) {
	img, err := imageio.LoadImage(path)
	if err != nil {
		return nil, err
	}
	pix, w, h := imageio.Planar(img)
	if w == 0 || h == 0 {
		return nil, fmt.Errorf("%s: empty image", path)
	}
	if err := checkEnlarge(min(w, h), size); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pix, side := cropSquare(pix, 3, h, w)
	return resize(pix, 3, side, size), nil
}
