package augment

import "math/rand"

// Color is the sampled "color" operation: per sample, add Brightness[b],
// then scale the deviation from the per-pixel channel mean by Saturation[b],
// then scale the deviation from the per-image mean by Contrast[b].
type Color struct {
	Brightness []float32 // U(-0.5, 0.5)
	Saturation []float32 // U(0, 2)
	Contrast   []float32 // U(0.5, 1.5)
}

// sampleColor draws brightness for every sample, then saturation, then
// contrast, as the official code does.
func sampleColor(b int, rng *rand.Rand) *Color {
	c := &Color{make([]float32, b), make([]float32, b), make([]float32, b)}
	for i := range c.Brightness {
		c.Brightness[i] = rng.Float32() - 0.5
	}
	for i := range c.Saturation {
		c.Saturation[i] = rng.Float32() * 2
	}
	for i := range c.Contrast {
		c.Contrast[i] = rng.Float32() + 0.5
	}
	return c
}

// Operation is OpColor.
func (o *Color) Operation() Op { return OpColor }

func (o *Color) apply(x, _ []float32, b, c, h, w int, linear bool) {
	if !linear {
		for i := range x {
			x[i] += o.Brightness[b]
		}
	}
	saturate(x, o.Saturation[b], c, h*w)
	contrast(x, o.Contrast[b])
}

// transpose: saturation and contrast are symmetric linear maps, brightness
// is a constant, so the VJP is the linear part in reverse order.
func (o *Color) transpose(g, _ []float32, b, c, h, w int) {
	contrast(g, o.Contrast[b])
	saturate(g, o.Saturation[b], c, h*w)
}

// saturate sets x = (x - m)*s + m per pixel, m the mean over the c channels.
func saturate(x []float32, s float32, c, hw int) {
	for i := 0; i < hw; i++ {
		var sum float32
		for ch := 0; ch < c; ch++ {
			sum += x[ch*hw+i]
		}
		m := sum / float32(c)
		for ch := 0; ch < c; ch++ {
			x[ch*hw+i] = (x[ch*hw+i]-m)*s + m
		}
	}
}

// contrast sets x = (x - m)*k + m, m the mean of x.
func contrast(x []float32, k float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	m := float32(sum / float64(len(x)))
	for i, v := range x {
		x[i] = (v-m)*k + m
	}
}

// Translation is the sampled "translation" operation: output pixel (y, x) of
// sample b is input pixel (y+DY[b], x+DX[b]), or 0 outside the image.
type Translation struct {
	DY []int // shift along H, uniform in [-round(r*H), round(r*H)]
	DX []int // shift along W, uniform in [-round(r*W), round(r*W)]
}

// sampleTranslation draws the H shifts of every sample, then the W shifts.
func sampleTranslation(b, h, w int, ratio float64, rng *rand.Rand) *Translation {
	t := &Translation{make([]int, b), make([]int, b)}
	sy, sx := pixels(h, ratio), pixels(w, ratio)
	for i := range t.DY {
		t.DY[i] = rng.Intn(2*sy+1) - sy
	}
	for i := range t.DX {
		t.DX[i] = rng.Intn(2*sx+1) - sx
	}
	return t
}

// Operation is OpTranslation.
func (o *Translation) Operation() Op { return OpTranslation }

func (o *Translation) apply(x, scratch []float32, b, c, h, w int, _ bool) {
	shift(x, scratch, c, h, w, o.DY[b], o.DX[b])
}

// transpose: the adjoint of a zero-filled shift is the opposite shift.
func (o *Translation) transpose(g, scratch []float32, b, c, h, w int) {
	shift(g, scratch, c, h, w, -o.DY[b], -o.DX[b])
}

// shift sets x[ch, y, x] = old x[ch, y+dy, x+dx], zero outside.
func shift(x, scratch []float32, c, h, w, dy, dx int) {
	if dy == 0 && dx == 0 {
		return
	}
	copy(scratch, x)
	clear(x)
	x0, x1 := max(0, -dx), min(w, w-dx) // output columns with a source
	if x0 >= x1 {
		return
	}
	for ch := 0; ch < c; ch++ {
		for y := max(0, -dy); y < min(h, h-dy); y++ {
			dst := (ch*h + y) * w
			src := (ch*h + y + dy) * w
			copy(x[dst+x0:dst+x1], scratch[src+x0+dx:src+x1+dx])
		}
	}
}

// Cutout is the sampled "cutout" operation, or one of TransGAN's erase
// variants (Kind), present only in batches that drew it: in sample b, rows [CY[b]-Size[0]/2, CY[b]-Size[0]/2+Size[0]) and
// columns [CX[b]-Size[1]/2, CX[b]-Size[1]/2+Size[1]), clipped to the image,
// are zeroed in every channel.
type Cutout struct {
	Kind Op     // the policy operation that drew it ("" means OpCutout)
	Size [2]int // rectangle sides along H and W (cutout: round(ratio*size))
	CY   []int  // centre row, uniform in [0, H - Size[0]%2]
	CX   []int  // centre column, uniform in [0, W - Size[1]%2]
}

// sampleCutout draws the centre rows of every sample, then the columns.
func sampleCutout(b, h, w int, ratio float64, rng *rand.Rand) *Cutout {
	return sampleCentres(&Cutout{Kind: OpCutout, Size: [2]int{pixels(h, ratio), pixels(w, ratio)}}, b, h, w, rng)
}

// sampleCentres draws o's centre rows of every sample, then the columns:
// uniform in [0, H - Size[0]%2] and [0, W - Size[1]%2].
func sampleCentres(o *Cutout, b, h, w int, rng *rand.Rand) *Cutout {
	o.CY, o.CX = make([]int, b), make([]int, b)
	for i := range o.CY {
		o.CY[i] = rng.Intn(h + 1 - o.Size[0]%2)
	}
	for i := range o.CX {
		o.CX[i] = rng.Intn(w + 1 - o.Size[1]%2)
	}
	return o
}

// Operation is o.Kind, or OpCutout when unset.
func (o *Cutout) Operation() Op {
	if o.Kind == "" {
		return OpCutout
	}
	return o.Kind
}

// Rect returns the zeroed rows [y0, y1) and columns [x0, x1) of sample b in
// an h x w image.
func (o *Cutout) Rect(b, h, w int) (y0, y1, x0, x1 int) {
	y0, x0 = o.CY[b]-o.Size[0]/2, o.CX[b]-o.Size[1]/2
	y1, x1 = min(h, y0+o.Size[0]), min(w, x0+o.Size[1])
	return max(0, y0), y1, max(0, x0), x1
}

func (o *Cutout) apply(x, _ []float32, b, c, h, w int, _ bool) {
	y0, y1, x0, x1 := o.Rect(b, h, w)
	for ch := 0; ch < c; ch++ {
		for y := y0; y < y1; y++ {
			clear(x[(ch*h+y)*w+x0 : (ch*h+y)*w+x1])
		}
	}
}

// transpose: a 0/1 mask is its own adjoint.
func (o *Cutout) transpose(g, scratch []float32, b, c, h, w int) {
	o.apply(g, scratch, b, c, h, w, true)
}
