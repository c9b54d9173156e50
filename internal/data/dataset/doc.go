// Package dataset loads training images for the TransGAN trainer.
//
// Place in the data flow: dataset -> trainer. Open decodes a dataset once
// (CIFAR-10 binary batches, MNIST/Fashion-MNIST IDX files, or a folder of
// PNG/JPEG images), center-crops each image to a square, resizes it to the
// model's image size (bilinear when enlarging, area averaging when
// shrinking) and keeps the result in memory as uint8. The high-resolution
// datasets of the TransGAN zoo are read on demand instead: the binary
// STL-10 (kind stl10, records fetched by offset) and folders of CelebA-HQ
// or LSUN images (kind images; kind folder too beyond MaxInMemory), resized
// with PIL's antialiased bilinear filter exactly as the official
// torchvision Resize does (pil.go). Open refuses a model more than twice
// the dataset's image side (a 256x256 model on 32x32 CIFAR-10). A Loader then walks a
// shuffled permutation of the images and converts one batch at a time to
// float32 NCHW in [-1, 1] (ToTensor + Normalize(0.5, 0.5): p/127.5 - 1),
// gray replicated to three channels, with a random horizontal flip, which is
// the official TransGAN input pipeline.
//
// Everything random in a Loader (the permutation of each epoch and the flip
// of each image) is a pure function of its seed, the epoch and the position
// in the epoch, so a Loader's State (three integers) is all a checkpoint
// needs to resume the exact same stream of batches.
package dataset
