// Package pth imports checkpoints of the official TransGAN PyTorch code
// (VITA-Group/TransGAN, both the February 2021 "v1" code and the final
// NeurIPS 2021 code) into tgan's own checkpoint format.
//
// It reads the pickle (zip or legacy torch.save format) with gopickle,
// accepts either a training dict (gen_state_dict, dis_state_dict,
// avg_gen_state_dict, optimizers, epoch, ...) or a bare generator
// state_dict, strips the DataParallel "module." prefix, infers the
// model.Config from the tensor names and shapes, maps every tensor to its
// official name and validates the result against the config's parameter
// lists. In the data flow it sits beside the trainer: both produce a
// checkpoint.Checkpoint that the exporter and `tgan infer` consume.
package pth
