package exporter

import (
	"strconv"

	"github.com/tgan-dev/tgan/model"
)

// NoiseInput is the name of the generator's attention-noise input.
const NoiseInput = "noise"

// KeyGNoise is the metadata key of a generator with a NoiseInput: the
// decimal T of its [batch, T] shape. Absent for generators without noise.
const KeyGNoise = "tgan.g_attention_noise"

// GeneratorNoise is T, the width of the generator's "noise" input:
// model.Config.GNoiseDraws (0 for families without noise).
func GeneratorNoise(cfg *model.Config) int { return cfg.GNoiseDraws() }

// generatorStage runs stage s's blocks on tokens x [B, N, C]: the plain
// global stack for the v1 and ViT_custom_rp families (the graph they have
// always had), else with the stage's windows, noise and cross-attention.
func (b *builder) generatorStage(x string, cfg *model.Config, s int, blks []model.Block) string {
	side, c := cfg.StageWidth(s), cfg.StageDim(s)
	w := cfg.GPartition(s)
	if b.noise == "" && b.embed == "" && w == side {
		return b.blocks(x, blks, side*side, c)
	}
	b.crossTokens = side * side
	noise := b.stageNoise(len(blks), side*side, side, w)
	return b.windowedBlocks(x, blks, noise, side, w, c)
}

// embedding is Celeba256_gen's cross-attention memory: e =
// embedding_transform(z) viewed [B, E, C] (token t = elements [tC, tC+C))
// + embed_pos, kept as [B*E, C] for the k and v Gemms of every block.
func (b *builder) embedding(z string, cfg *model.Config) {
	prev := b.g.Scope("embedding_transform")
	defer b.g.Scope(prev)
	n, c := int64(cfg.StageTokens(0)), int64(cfg.GDim)
	e := b.reshape(b.linear(z, model.GEmbedW, model.GEmbedB), -1, n, c)
	e = b.addPos(e, model.GEmbedPos)
	b.embed, b.embedTokens = b.reshape(e, -1, c), int(n)
}

// noiseMetadata adds KeyGNoise to a generator's metadata when it has noise.
func noiseMetadata(cfg *model.Config, md map[string]string) {
	if t := GeneratorNoise(cfg); t > 0 {
		md[KeyGNoise] = strconv.Itoa(t)
	}
}
