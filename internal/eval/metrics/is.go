package metrics

import (
	"fmt"
	"math"
)

// InceptionScore returns the Inception Score of n images from their logits
// (n, classes): the images are cut into splits consecutive parts (part k
// holds images k*n/splits .. (k+1)*n/splits-1, as the original code of
// Salimans et al. does), and for each part
//
//	IS = exp(mean_i KL(p(y|x_i) || p(y)))
//
// with p(y|x) the softmax of the logits and p(y) its mean over the part.
// It returns the mean and standard deviation (ddof 0) over the parts.
// Computed in float64; 0 log 0 counts as 0.
func InceptionScore(logits []float32, n, classes, splits int) (mean, std float64, err error) {
	if classes <= 0 || len(logits) != n*classes {
		return 0, 0, fmt.Errorf("is: %d logits for %d images of %d classes", len(logits), n, classes)
	}
	if splits <= 0 || n < splits {
		return 0, 0, fmt.Errorf("is: %d images cannot make %d splits", n, splits)
	}
	p := make([]float64, n*classes)
	for i := 0; i < n; i++ {
		softmax(p[i*classes:(i+1)*classes], logits[i*classes:(i+1)*classes])
	}
	scores := make([]float64, splits)
	py := make([]float64, classes)
	for k := range scores {
		lo, hi := k*n/splits, (k+1)*n/splits
		clear(py)
		for i := lo; i < hi; i++ {
			for c, v := range p[i*classes : (i+1)*classes] {
				py[c] += v
			}
		}
		for c := range py {
			py[c] /= float64(hi - lo)
		}
		kl := 0.0
		for i := lo; i < hi; i++ {
			for c, v := range p[i*classes : (i+1)*classes] {
				if v > 0 {
					kl += v * (math.Log(v) - math.Log(py[c]))
				}
			}
		}
		scores[k] = math.Exp(kl / float64(hi-lo))
	}
	mean, std = meanStd(scores)
	return mean, std, nil
}

// softmax writes the softmax of logits into dst, in float64.
func softmax(dst []float64, logits []float32) {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	sum := 0.0
	for c, v := range logits {
		dst[c] = math.Exp(float64(v) - mx)
		sum += dst[c]
	}
	for c := range dst {
		dst[c] /= sum
	}
}
