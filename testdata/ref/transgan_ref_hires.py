"""Independent PyTorch reference for the TransGAN families of SPEC-hires.md.

Written from SPEC-hires.md only (the official code is not available here):
  final G    ViT_custom_rp (g_norm ln|pn, rel-pos) and ViT_custom (attention noise, no rel-pos)
  final D    ViT_custom_scale2_rp_noise (rel-pos + noise) and ViT_custom_scale2 (rel-pos only),
             d_norm ln|pn
  256 G      Celeba256_gen (cross-attention to a z embedding, no blocks_1, updown filters)
             and ViT_custom_local544444_256_rp_noise (windowed rel-pos attention with noise)
  256 D      Celeba256_dis (3 scales, overlapping first conv, no rel-pos, Hz_fbank buffer)
             and ViT_scale3_local_new_rp (3 scales, rel-pos)
Constructors take tgan's config JSON fields (model/config.go); at the official preset values
they build the official modules: same state_dict keys, shapes and registration order (hence
the same parameters() order, which fixes the Adam state indices of a checkpoint).

Attention noise (SPEC-hires 0.4) is taken from an injectable NoiseSource so that the draws
can be recorded and replayed: every noised attention asks the source for one eps of shape
[B', N', 1] (B' = batch x windows for windowed calls), in forward call order.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from transgan_ref import Mlp, map_to_tokens, pixel_upsample, rel_pos_index, tokens_to_map

PIXEL_NORM_EPS = 1e-8


# ---------------------------------------------------------------- noise source

class NoiseSource:
    """Standard-normal draws for the attention input noise.

    draw: torch.randn from `gen` (a torch.Generator, or the global RNG when None);
    replay: pop tensors from `replay` (a list) instead, checking their shapes;
    record: when `record` is a list, every eps handed out is appended to it.
    """

    def __init__(self, gen=None):
        self.gen = gen
        self.replay = None
        self.record = None

    def __call__(self, shape):
        shape = tuple(shape)
        if self.replay is not None:
            eps = self.replay.pop(0)
            assert tuple(eps.shape) == shape, (tuple(eps.shape), shape)
        else:
            eps = torch.randn(shape, generator=self.gen)
        if self.record is not None:
            self.record.append(eps.detach().clone())
        return eps


def set_noise_source(model, src):
    """Point every noised attention of model at src."""
    for m in model.modules():
        if isinstance(m, Attention):
            m.src = src


def split_noise(flat, shapes):
    """Cut a flat g_noise/d_noise array into the list of draws (replay order)."""
    out, off = [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(torch.from_numpy(np.asarray(flat[off:off + n], dtype=np.float32)).reshape(s))
        off += n
    assert off == len(flat), (off, len(flat))
    return out


# ---------------------------------------------------------------- primitives (SPEC-hires 0)

class PixelNorm(nn.Module):
    """x * rsqrt(mean over channels of x^2 + 1e-8); no parameters."""

    def forward(self, x):
        return x * torch.rsqrt(torch.mean(x * x, dim=2, keepdim=True) + PIXEL_NORM_EPS)


class CustomNorm(nn.Module):
    """Owns a child `norm`: LayerNorm (keys ....norm.weight/bias) or PixelNorm (no keys)."""

    def __init__(self, kind, dim):
        super().__init__()
        assert kind in ("ln", "pn"), kind
        self.norm = nn.LayerNorm(dim, eps=1e-5) if kind == "ln" else PixelNorm()

    def forward(self, x):
        return self.norm(x)


def norm_kind(field):
    """tgan's g_norm/d_norm JSON value ("" or "pn") -> "ln"/"pn"."""
    return "pn" if field == "pn" else "ln"


def window_partition(x, H, W, w):
    """[B, H*W, C] -> [B*(H/w)*(W/w), w*w, C] (SPEC-hires 0.3)."""
    B, N, C = x.shape
    x = x.reshape(B, H // w, w, W // w, w, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, w * w, C)


def window_reverse(x, H, W, w):
    """Inverse of window_partition; B is recomputed from the window count."""
    C = x.shape[-1]
    B = x.shape[0] // ((H // w) * (W // w))
    x = x.reshape(B, H // w, W // w, w, w, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(B, H * W, C)


def bicubic_upsample(x, H, W):
    """tokens -> map -> F.interpolate x2 bicubic (align_corners False) -> tokens."""
    m = F.interpolate(tokens_to_map(x, H, W), scale_factor=2, mode="bicubic", align_corners=False)
    return map_to_tokens(m), 2 * H, 2 * W


def updown(x, H, W):
    """Celeba256_gen's filter: bicubic x4 then AvgPool2d(4); same size."""
    m = F.interpolate(tokens_to_map(x, H, W), scale_factor=4, mode="bicubic", align_corners=False)
    return map_to_tokens(nn.AvgPool2d(4)(m))


def avg_pool_tokens(x, H, W):
    return map_to_tokens(F.avg_pool2d(tokens_to_map(x, H, W), 2))


def hz_fbank():
    """Celeba256_dis's Hz_fbank [4, 43] float32 (SPEC-hires 5.5): sym2 wavelet bands."""
    h_lo = np.array([-0.12940952255092145, 0.22414386804185735,
                     0.836516303737469, 0.48296291314469025])
    h_hi = h_lo * np.array([1.0, -1.0, 1.0, -1.0])
    lo2 = np.convolve(h_lo, h_lo[::-1]) / 2
    hi2 = np.convolve(h_hi, h_hi[::-1]) / 2
    bank = np.zeros((4, 1))
    bank[0, 0] = 1.0
    for i in range(1, 4):
        up = np.zeros((4, 2 * bank.shape[1] - 1))
        up[:, ::2] = bank
        bank = np.stack([np.convolve(row, lo2) for row in up])
        start = (bank.shape[1] - 7) // 2
        bank[i, start:start + 7] += hi2
    return torch.from_numpy(bank.astype(np.float32))


# ---------------------------------------------------------------- attention and blocks

class Attention(nn.Module):
    """MHSA with optional relative-position bias (window w) and optional input noise.

    noise: None, "before" (noise_strength_1 registered before the table: the final D)
    or "after" (after the table: the 256 generators); the order fixes parameters().
    """

    def __init__(self, dim, heads=4, window=0, noise=None):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.window = window
        self.noise = noise
        self.src = None
        if noise == "before":
            self.noise_strength_1 = nn.Parameter(torch.zeros([]))
        if window:
            self.relative_position_bias_table = nn.Parameter(
                torch.zeros((2 * window - 1) ** 2, heads))
        if noise == "after":
            self.noise_strength_1 = nn.Parameter(torch.zeros([]))
        if window:
            self.register_buffer("relative_position_index", rel_pos_index(window))
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        if self.noise:
            src = self.src if self.src is not None else NoiseSource()
            x = x + src([B, N, 1]) * self.noise_strength_1
        d = C // self.heads
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                       # [B,h,N,d]
        logits = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        if self.window:
            assert N == self.window ** 2, (N, self.window)
            bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
            logits = logits + bias.reshape(N, N, self.heads).permute(2, 0, 1).unsqueeze(0)
        a = logits.softmax(dim=-1)
        return self.proj(torch.matmul(a, v).transpose(1, 2).reshape(B, N, C))


class Block(nn.Module):
    """x += attn(norm1(x)); x += mlp(norm2(x)) (Block and DisBlock: gain 1 for ln/pn)."""

    def __init__(self, dim, heads, mlp_ratio, norm, window=0, noise=None):
        super().__init__()
        self.norm1 = CustomNorm(norm, dim)
        self.attn = Attention(dim, heads, window, noise)
        self.norm2 = CustomNorm(norm, dim)
        self.mlp = Mlp(dim, mlp_ratio)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class StageBlock(nn.Module):
    """Generator stage: blocks under `.block.N`."""

    def __init__(self, blocks):
        super().__init__()
        self.block = nn.ModuleList(blocks)


class CrossAttention(nn.Module):
    """Celeba256_gen's cross-attention to the z embedding, with its own residual.

    noise_strength_1 is created and never read (a dead parameter of the official module).
    """

    def __init__(self, dim, emb_dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.noise_strength_1 = nn.Parameter(torch.zeros([]))
        self.q_transform = nn.Linear(dim, dim, bias=False)
        self.k_transform = nn.Linear(emb_dim, dim, bias=False)
        self.v_transform = nn.Linear(emb_dim, dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, e):
        B, N, C = x.shape
        M = e.shape[1]
        d = C // self.heads
        q = self.q_transform(x).reshape(B, N, self.heads, d).transpose(1, 2)
        k = self.k_transform(e).reshape(B, M, self.heads, d).transpose(1, 2)
        v = self.v_transform(e).reshape(B, M, self.heads, d).transpose(1, 2)
        a = (torch.matmul(q, k.transpose(-1, -2)) * self.scale).softmax(dim=-1)
        o = torch.matmul(a, v).transpose(1, 2).reshape(B, N, C)
        return x + self.proj(o)


class CelebaBlock(nn.Module):
    """Celeba256_gen Block: cross-attention (no norm), windowed noised self-attention, MLP."""

    def __init__(self, dim, heads, mlp_ratio, norm, window, emb_dim):
        super().__init__()
        self.norm1 = CustomNorm(norm, dim)
        self.attn = Attention(dim, heads, window, noise="after")
        self.norm2 = CustomNorm(norm, dim)
        self.mlp = Mlp(dim, mlp_ratio)
        self.cross_attention = CrossAttention(dim, emb_dim, heads)

    def forward(self, x, e, H, W, part):
        x = self.cross_attention(x, e)
        xw = window_partition(x, H, W, part)
        xw = xw + self.attn(self.norm1(xw))
        x = window_reverse(xw, H, W, part)
        return x + self.mlp(self.norm2(x))


# ---------------------------------------------------------------- config helpers

def stage_width(cfg, s):
    return cfg["bottom_width"] << s


def bicubic_stages(cfg):
    return 2 if cfg.get("g_arch", "") in ("celeba256", "church256") else 0


def stage_dim(cfg, s):
    return cfg["g_dim"] >> (2 * max(0, s - bicubic_stages(cfg)))


def g_partition(cfg, s):
    """Window side used to partition stage s (the stage side when global)."""
    ws = cfg.get("g_windows") or []
    side = stage_width(cfg, s)
    if s < len(ws) and 0 < ws[s] < side:
        return ws[s]
    return side


# ---------------------------------------------------------------- generators

class FinalGenerator(nn.Module):
    """ViT_custom_rp (rel_pos, no noise) or ViT_custom (noise, no rel-pos); norm ln|pn."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        custom = cfg.get("g_arch", "") == "custom"
        L, C, b, depths = cfg["latent_dim"], cfg["g_dim"], cfg["bottom_width"], cfg["g_depths"]
        norm = norm_kind(cfg.get("g_norm", ""))
        self.l1 = nn.Linear(L, b * b * C)
        for s in range(len(depths)):
            w = stage_width(cfg, s)
            setattr(self, "pos_embed_%d" % (s + 1),
                    nn.Parameter(torch.zeros(1, w * w, stage_dim(cfg, s))))

        def stage(s):
            w = stage_width(cfg, s) if cfg.get("g_rel_pos") else 0
            return StageBlock([Block(stage_dim(cfg, s), cfg["g_heads"], cfg["mlp_ratio"], norm,
                                     window=w, noise="before" if custom else None)
                               for _ in range(depths[s])])

        self.blocks = stage(0)
        self.upsample_blocks = nn.ModuleList([stage(s) for s in range(1, len(depths))])
        self.deconv = nn.Sequential(nn.Conv2d(stage_dim(cfg, len(depths) - 1), 3, 1, 1, 0))

    def forward(self, z):
        cfg = self.cfg
        B = z.shape[0]
        x = self.l1(z).reshape(B, cfg["bottom_width"] ** 2, cfg["g_dim"])
        H = W = cfg["bottom_width"]
        for s in range(len(cfg["g_depths"])):
            if s > 0:
                x, H, W = pixel_upsample(x, H, W)
            x = x + getattr(self, "pos_embed_%d" % (s + 1))
            stage = self.blocks if s == 0 else self.upsample_blocks[s - 1]
            for blk in stage.block:
                x = blk(x)
        return self.deconv(tokens_to_map(x, H, W))


class HiresGenerator(nn.Module):
    """Celeba256_gen (g_arch celeba256) or ViT_custom_local544444_256_rp_noise (church256).

    Stage s (0-based) has side b*2^s; the first two upsamplings are bicubic (channels kept),
    the others pixel shuffles. The rel-pos window of stage s is g_windows[s]; a window
    smaller than the side partitions the map (the official hard-coded global windows of
    stages 0-2 equal the side at the preset values).
    """

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.celeba = cfg["g_arch"] == "celeba256"
        L, C, b, depths = cfg["latent_dim"], cfg["g_dim"], cfg["bottom_width"], cfg["g_depths"]
        norm = norm_kind(cfg.get("g_norm", ""))
        self.l1 = nn.Linear(L, b * b * C)
        if self.celeba:
            assert depths[0] == 0, "Celeba256_gen has no blocks_1"
            self.embedding_transform = nn.Linear(L, b * b * C)
        for s in range(len(depths)):
            w = stage_width(cfg, s)
            setattr(self, "pos_embed_%d" % (s + 1),
                    nn.Parameter(torch.zeros(1, w * w, stage_dim(cfg, s))))
        if self.celeba:
            self.embed_pos = nn.Parameter(torch.zeros(1, b * b, C))
        for s in range(len(depths)):
            if self.celeba and s == 0:
                continue
            dim, win = stage_dim(cfg, s), cfg["g_windows"][s]
            if self.celeba:
                blocks = [CelebaBlock(dim, cfg["g_heads"], cfg["mlp_ratio"], norm, win, C)
                          for _ in range(depths[s])]
            else:
                blocks = [Block(dim, cfg["g_heads"], cfg["mlp_ratio"], norm, win, noise="after")
                          for _ in range(depths[s])]
            setattr(self, "blocks_%d" % (s + 1), StageBlock(blocks))
        self.deconv = nn.Sequential(nn.Conv2d(stage_dim(cfg, len(depths) - 1), 3, 1, 1, 0))

    def run_stage(self, s, x, e, H, W):
        if self.celeba and s == 0:
            return x
        part = g_partition(self.cfg, s)
        blocks = getattr(self, "blocks_%d" % (s + 1)).block
        if self.celeba:
            for blk in blocks:
                x = blk(x, e, H, W, part)
            return x
        xw = window_partition(x, H, W, part)
        for blk in blocks:
            xw = blk(xw)
        return window_reverse(xw, H, W, part)

    def forward(self, z):
        cfg = self.cfg
        B, b, C = z.shape[0], cfg["bottom_width"], cfg["g_dim"]
        x = self.l1(z).reshape(B, b * b, C) + self.pos_embed_1
        e = None
        if self.celeba:
            e = self.embedding_transform(z).reshape(B, b * b, C) + self.embed_pos
        H = W = b
        for s in range(len(cfg["g_depths"])):
            if s > 0:
                up = bicubic_upsample if s <= bicubic_stages(cfg) else pixel_upsample
                x, H, W = up(x, H, W)
                x = x + getattr(self, "pos_embed_%d" % (s + 1))
            x = self.run_stage(s, x, e, H, W)
            if self.celeba and s in (3, 4):
                x = updown(x, H, W)
        return self.deconv(tokens_to_map(x, H, W))


# ---------------------------------------------------------------- discriminators

class FinalDiscriminator(nn.Module):
    """ViT_custom_scale2_rp_noise (noise) or ViT_custom_scale2 (d_no_noise); d_norm ln|pn."""

    def __init__(self, cfg):
        super().__init__()
        D, p, img, k = cfg["d_dim"], cfg["d_patch"], cfg["image_size"], cfg["d_depth"]
        norm = norm_kind(cfg.get("d_norm", ""))
        noise = None if cfg.get("d_no_noise") else "before"
        c1, c2 = D // 4 * 3, D // 4
        self.w1, self.w2 = img // p, img // (2 * p)
        rp = cfg.get("d_rel_pos", False)
        self.fRGB_1 = nn.Conv2d(3, c1, p, p, 0)
        self.fRGB_2 = nn.Conv2d(3, c2, 2 * p, 2 * p, 0)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed_1 = nn.Parameter(torch.zeros(1, self.w1 ** 2, c1))
        self.pos_embed_2 = nn.Parameter(torch.zeros(1, self.w2 ** 2, D))
        h, r = cfg["d_heads"], cfg["mlp_ratio"]
        self.blocks_1 = nn.ModuleList([Block(c1, h, r, norm, self.w1 if rp else 0, noise)
                                       for _ in range(k)])
        self.blocks_2 = nn.ModuleList([Block(D, h, r, norm, self.w2 if rp else 0, noise)
                                       for _ in range(k)])
        self.last_block = nn.Sequential(Block(D, h, r, norm, 0, noise))
        self.norm = CustomNorm(norm, D)
        self.head = nn.Linear(D, 1)

    def forward(self, img):
        B = img.shape[0]
        x = map_to_tokens(self.fRGB_1(img)) + self.pos_embed_1
        for blk in self.blocks_1:
            x = blk(x)
        x = torch.cat([avg_pool_tokens(x, self.w1, self.w1),
                       map_to_tokens(self.fRGB_2(img))], dim=2) + self.pos_embed_2
        for blk in self.blocks_2:
            x = blk(x)
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1)
        x = self.norm(self.last_block(x))
        return self.head(x[:, 0])


class ThreeScaleDiscriminator(nn.Module):
    """Celeba256_dis (d_kind celeba256) or ViT_scale3_local_new_rp (scale3), policy None.

    Groups (model/threescale.go): celeba256 blocks_1 (k, windowed) | blocks_2 (k-1, windowed)
    | blocks_21 (1, global) | blocks_3 (k+1); scale3 blocks_1 (k-1, windowed rel-pos) |
    blocks_11 (1, global) | blocks_2 (k) | blocks_3 (k+1); then last_block with the cls token.
    """

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.celeba = cfg["d_kind"] == "celeba256"
        D, p, img, k = cfg["d_dim"], cfg["d_patch"], cfg["image_size"], cfg["d_depth"]
        wd = cfg["d_window"]
        norm = norm_kind(cfg.get("d_norm", ""))
        h, r = cfg["d_heads"], cfg["mlp_ratio"]
        self.sides = [img // p >> i for i in range(3)]
        dims = [D // 4, D // 2, D] if self.celeba else [D // 4 * 3, D // 8 * 7, D]
        self.dims = dims
        emb = [dims[0], dims[1] - dims[0], dims[2] - dims[1]]
        if self.celeba:
            self.fRGB_1 = nn.Conv2d(3, emb[0], 2 * p, p, p // 2)
        else:
            self.fRGB_1 = nn.Conv2d(3, emb[0], p, p, 0)
        self.fRGB_2 = nn.Conv2d(3, emb[1], 2 * p, 2 * p, 0)
        self.fRGB_3 = nn.Conv2d(3, emb[2], 4 * p, 4 * p, 0)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        for i in range(3):
            setattr(self, "pos_embed_%d" % (i + 1),
                    nn.Parameter(torch.zeros(1, self.sides[i] ** 2, dims[i])))

        def group(n, dim, win):
            return nn.ModuleList([Block(dim, h, r, norm, win) for _ in range(n)])

        S = self.sides
        if self.celeba:
            self.blocks_1 = group(k, dims[0], 0)
            self.blocks_2 = group(k - 1, dims[1], 0)
            self.blocks_21 = group(1, dims[1], 0)
            self.blocks_3 = group(k + 1, dims[2], 0)
        else:
            self.blocks_1 = group(k - 1, dims[0], wd)
            self.blocks_11 = group(1, dims[0], S[0])
            self.blocks_2 = group(k, dims[1], S[1])
            self.blocks_3 = group(k + 1, dims[2], S[2])
        self.last_block = nn.Sequential(Block(D, h, r, norm, 0))
        self.norm = CustomNorm(norm, D)
        self.head = nn.Linear(D, 1)
        if cfg.get("d_filter_bank"):
            self.register_buffer("Hz_fbank", hz_fbank())

    @staticmethod
    def run(blocks, x, side, part):
        if part:
            x = window_partition(x, side, side, part)
        for blk in blocks:
            x = blk(x)
        return window_reverse(x, side, side, part) if part else x

    def forward(self, img):
        B = img.shape[0]
        S, wd = self.sides, self.cfg["d_window"]
        x1 = map_to_tokens(self.fRGB_1(img))
        x2 = map_to_tokens(self.fRGB_2(img))
        x3 = map_to_tokens(self.fRGB_3(img))
        x = self.run(self.blocks_1, x1 + self.pos_embed_1, S[0], wd)
        if self.celeba:
            x = torch.cat([avg_pool_tokens(x, S[0], S[0]), x2], dim=2) + self.pos_embed_2
            x = self.run(self.blocks_2, x, S[1], wd)
            x = self.run(self.blocks_21, x, S[1], 0)
        else:
            x = self.run(self.blocks_11, x, S[0], 0)
            x = torch.cat([avg_pool_tokens(x, S[0], S[0]), x2], dim=2) + self.pos_embed_2
            x = self.run(self.blocks_2, x, S[1], 0)
        x = torch.cat([avg_pool_tokens(x, S[1], S[1]), x3], dim=2) + self.pos_embed_3
        x = self.run(self.blocks_3, x, S[2], 0)
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1)
        x = self.norm(self.last_block(x))
        return self.head(x[:, 0])


def build(cfg):
    """cfg: tgan's config JSON (dict). Returns (G, D) of the official families."""
    arch = cfg.get("g_arch", "")
    assert cfg["version"] == "final"
    G = HiresGenerator(cfg) if arch in ("celeba256", "church256") else FinalGenerator(cfg)
    if cfg["d_kind"] == "scale2":
        D = FinalDiscriminator(cfg)
    else:
        D = ThreeScaleDiscriminator(cfg)
    return G, D
