package trainer

import "math"

// dLoss returns the discriminator loss (without the gradient penalty) for
// real logits r and fake logits f, and its derivatives with respect to
// every logit (the seeds of the D graph). group > 0 takes wgangp-eps's
// drift term per group of that many real logits (driftGroups).
func dLoss(loss string, group int, r, f []float32) (l float64, dr, df []float32) {
	dr, df = make([]float32, len(r)), make([]float32, len(f))
	nr, nf := float64(len(r)), float64(len(f))
	switch loss {
	case LossHinge: // mean relu(1-r) + mean relu(1+f)
		for i, x := range r {
			if v := 1 - float64(x); v > 0 {
				l += v / nr
				dr[i] = float32(-1 / nr)
			}
		}
		for i, x := range f {
			if v := 1 + float64(x); v > 0 {
				l += v / nf
				df[i] = float32(1 / nf)
			}
		}
	case LossStandard: // BCE(sigmoid r, 1) + BCE(sigmoid f, 0)
		for i, x := range r {
			l += softplus(-float64(x)) / nr
			dr[i] = float32((sigmoid(float64(x)) - 1) / nr)
		}
		for i, x := range f {
			l += softplus(float64(x)) / nf
			df[i] = float32(sigmoid(float64(x)) / nf)
		}
	case LossLSGAN: // MSE(r, 1) + MSE(f, 0)
		for i, x := range r {
			l += (float64(x) - 1) * (float64(x) - 1) / nr
			dr[i] = float32(2 * (float64(x) - 1) / nr)
		}
		for i, x := range f {
			l += float64(x) * float64(x) / nf
			df[i] = float32(2 * float64(x) / nf)
		}
	default: // wgangp, wgangp-eps: -mean r + mean f (+ 1e-3 mean(r)^2)
		mr := mean(r)
		l = -mr + mean(f)
		for i := range r {
			dr[i] = float32(-1 / nr)
		}
		for i := range f {
			df[i] = float32(1 / nf)
		}
		if loss == LossWGANGPEps && group > 0 && group < len(r) {
			l += driftGroups(r, dr, group)
		} else if loss == LossWGANGPEps {
			l += 1e-3 * mr * mr
			for i := range r {
				dr[i] += float32(2e-3 * mr / nr)
			}
		}
	}
	return l, dr, df
}

// driftGroups is the drift term of the official per-GPU micro-batches:
// 1e-3 * mean over the K groups of g consecutive real logits of (group
// mean)^2. It adds its derivative, 2e-3 * (group mean) / (K*g), into dr.
func driftGroups(r, dr []float32, g int) float64 {
	k := len(r) / g
	l := 0.0
	for j := 0; j < k; j++ {
		m := mean(r[j*g : (j+1)*g])
		l += 1e-3 * m * m / float64(k)
		for i := j * g; i < (j+1)*g; i++ {
			dr[i] += float32(2e-3 * m / float64(len(r)))
		}
	}
	return l
}

// gLoss returns the generator loss for fake logits f and its derivatives.
func gLoss(loss string, f []float32) (l float64, df []float32) {
	df = make([]float32, len(f))
	n := float64(len(f))
	switch loss {
	case LossStandard: // BCE(sigmoid f, 1)
		for i, x := range f {
			l += softplus(-float64(x)) / n
			df[i] = float32((sigmoid(float64(x)) - 1) / n)
		}
	case LossLSGAN: // MSE(f, 1)
		for i, x := range f {
			l += (float64(x) - 1) * (float64(x) - 1) / n
			df[i] = float32(2 * (float64(x) - 1) / n)
		}
	default: // wgangp*, hinge: -mean f
		l = -mean(f)
		for i := range f {
			df[i] = float32(-1 / n)
		}
	}
	return l, df
}

func mean(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v)
	}
	return s / float64(len(x))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// softplus is log(1+e^x), computed without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
