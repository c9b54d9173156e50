package augment

import "math/rand"

// EraseProb is the probability that a call of TransGAN's erase variants
// erases anything (one draw per call, for the whole batch).
const EraseProb = 0.3

// EraseSizes returns the inclusive ranges [lo, hi] of the rectangle's
// height and width that op draws from for an h x w image:
// erase_ratio [floor(0.2 H), floor(0.7 H)], stl_erase_ratio and erase
// [20, floor(H/2) + 20] (SPEC-hires 5.5; the ratio parameter is ignored).
func EraseSizes(op Op, h, w int) (hLo, hHi, wLo, wHi int) {
	if op == OpEraseRatio {
		return int(0.2 * float64(h)), int(0.7 * float64(h)), int(0.2 * float64(w)), int(0.7 * float64(w))
	}
	return 20, h/2 + 20, 20, w/2 + 20
}

// sampleErase draws one erase call: the rectangle's height, then its width
// (the same for the whole batch), then the gate (nil when the batch is not
// erased, probability 1 - EraseProb), then every sample's centre row and
// column as cutout does. The rectangle is clipped to the image (Rect).
func sampleErase(op Op, b, h, w int, rng *rand.Rand) *Cutout {
	hLo, hHi, wLo, wHi := EraseSizes(op, h, w)
	size := [2]int{hLo + rng.Intn(hHi-hLo+1), wLo + rng.Intn(wHi-wLo+1)}
	if rng.Float64() >= EraseProb {
		return nil
	}
	return sampleCentres(&Cutout{Kind: op, Size: size}, b, h, w, rng)
}
