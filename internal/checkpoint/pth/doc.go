// Package pth moves checkpoints between tgan and the official TransGAN
// PyTorch code (VITA-Group/TransGAN, both the February 2021 "v1" code and
// the final NeurIPS 2021 code), both ways.
//
// Import reads a pickle (zip or legacy torch.save format) with gopickle,
// accepts either a training dict (gen_state_dict, dis_state_dict,
// avg_gen_state_dict, optimizers, epoch, ...) or a bare generator
// state_dict, strips the DataParallel "module." prefix, infers the
// model.Config from the tensor names and shapes, maps every tensor to its
// official name and validates the result against the config's parameter
// lists. The Adam optimizers' moments and step counts come along, mapped
// from the official modules' parameters() order (order.go) to names.
// Besides ViT_custom_rp / ViT_custom_scale2_rp_noise it recognises the
// zoo's final-code families (infer_hires.go): ViT_custom, PixelNorm G and
// D, Celeba256_gen / Celeba256_dis, ViT_custom_local544444_256_rp_noise /
// ViT_scale3_local_new_rp and ViT_custom_scale2; fixed buffers
// (relative_position_index, Hz_fbank) are recomputed and compared.
//
// Export writes the training dict the official scripts save and resume
// from, in PyTorch's zip format, with its own pickle writer (protocol 2,
// only the globals torch.load(weights_only=True) allows) and zip layout
// (storages stored and 64-byte aligned). In the data flow the package sits
// beside the trainer: both produce and consume checkpoint.Checkpoint.
package pth
