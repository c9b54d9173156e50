package pth

import (
	"fmt"

	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
)

// A file written by tgan export --pth carries what the official dict has no
// place for (tgan_meta: the checkpoint's metadata and config; tgan_extra:
// other extra tensors), so that importing it gives back the same checkpoint.

// readTganMeta reads the tgan_meta str->str dict.
func (im *importer) readTganMeta(v any) error {
	es, ok := dictEntries(v)
	if !ok {
		return fmt.Errorf("%s is a %s, want a dict", keyTganMeta, typeName(v))
	}
	im.tganMeta = map[string]string{}
	for _, e := range es {
		s, ok := e.value.(string)
		if !ok {
			return fmt.Errorf("%s: entry %q is a %s, want a str", keyTganMeta, e.key, typeName(e.value))
		}
		if e.key == checkpoint.MetaConfig {
			im.tganConfig = s
		} else {
			im.tganMeta[e.key] = s
		}
	}
	return nil
}

// readTganExtra reads the tgan_extra tensors.
func (im *importer) readTganExtra(v any) error {
	es, ok := dictEntries(v)
	if !ok {
		return fmt.Errorf("%s is a %s, want a dict", keyTganExtra, typeName(v))
	}
	for _, e := range es {
		pt, ok := e.value.(*pytorch.Tensor)
		if !ok {
			return fmt.Errorf("%s: entry %q is a %s, want a tensor", keyTganExtra, e.key, typeName(e.value))
		}
		t, _, err := convert(pt)
		if err != nil {
			return fmt.Errorf("%s: tensor %q: %w", keyTganExtra, e.key, err)
		}
		if im.extra == nil {
			im.extra = map[string]*model.Tensor{}
		}
		im.extra[e.key] = t
	}
	return nil
}

// applyTgan restores tgan's metadata under the importer's own entries and,
// when the recorded config describes the same tensors as the inferred one,
// the recorded config (it also keeps what shapes cannot tell).
func (im *importer) applyTgan(ck *checkpoint.Checkpoint) error {
	if im.tganMeta == nil {
		return nil
	}
	meta := make(map[string]string, len(im.tganMeta)+len(ck.Meta))
	for k, v := range im.tganMeta {
		meta[k] = v
	}
	for k, v := range ck.Meta {
		meta[k] = v
	}
	ck.Meta = meta
	if im.tganConfig == "" || im.tganConfig == ck.Config.JSON() {
		return nil
	}
	rec, err := model.ParseJSON(im.tganConfig)
	if err == nil {
		inferred := ck.Config
		ck.Config = rec
		if err = ck.Validate(); err != nil {
			ck.Config = inferred
		}
	}
	if err != nil {
		im.warns = append(im.warns, fmt.Sprintf("%s: the recorded tgan config does not fit the tensors (%v): using the inferred one", keyTganMeta, err))
	}
	return nil
}
