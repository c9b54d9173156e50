// Package augment implements DiffAugment (Zhao et al. 2020) as TransGAN uses
// it inside the discriminator: policy "translation,cutout,color".
//
// Place in the data flow: the trainer feeds every discriminator input (real
// batch, generated batch, WGAN-GP interpolates) through DiffAugment before
// D. Gradients must flow back through the augmentation to the generator and
// to the interpolates, so the package splits it in two: Sample draws every
// random number of one call up front (a Params value), and then, for those
// fixed parameters, Apply is an affine map of the batch and ApplyTranspose
// its exact vector-Jacobian product. ApplyLinear is Apply without the
// additive brightness term (the linear part), which is also the transpose
// of ApplyTranspose, for second-order (gradient-penalty) backprop.
//
// The operations run in the order the policy names them, exactly as the
// official DiffAugment loop does; TransGAN's defaults differ from the
// original DiffAugment in two places: translation up to round(0.2*size)
// pixels (not 0.125) and cutout applied to the whole batch with probability
// 0.3. Both are Policy fields.
//
// The TransGAN zoo's policies (SPEC-hires 5.5) add erase_ratio and
// stl_erase_ratio (= erase): cutout with a random rectangle size per call
// and a 30% whole-batch gate; hue: a per-sample rotation about the grey
// axis with probability 0.5; filter: StyleGAN2-ADA's image-space filtering
// with per-sample gains of the four wavelet bands of model.FilterBank.
// Every one of them is linear for fixed draws, so the same Apply/Transpose
// split holds. The trainer's ONNX Runtime executor lowers the same
// operations from the same Params (trainer/executor_lower.go).
package augment
