"""Independent PyTorch reference implementation of TransGAN (v1 and final).

Written from SPEC.md only. state_dict keys follow the official parameter names so that
checkpoints made here load like official ones. Used only to produce golden files.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- building blocks

def gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


class GELU(nn.Module):
    def forward(self, x):
        return gelu_erf(x)


class NormWrap(nn.Module):
    """LayerNorm with an extra `.norm` level in its keys (final version)."""

    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, x):
        return self.norm(x)


def make_norm(dim, wrapped):
    return NormWrap(dim) if wrapped else nn.LayerNorm(dim, eps=1e-5)


class Mlp(nn.Module):
    def __init__(self, dim, ratio=4):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim * ratio)
        self.act = GELU()
        self.fc2 = nn.Linear(dim * ratio, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def rel_pos_index(w):
    """index[i,j] = (h_i-h_j+w-1)*(2w-1) + (w_i-w_j+w-1), tokens row-major on a w x w map."""
    hh, ww = torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")
    hh = hh.reshape(-1)
    ww = ww.reshape(-1)
    dh = hh[:, None] - hh[None, :] + (w - 1)
    dw = ww[:, None] - ww[None, :] + (w - 1)
    return (dh * (2 * w - 1) + dw).to(torch.int64)


def band_mask(n, w):
    """True where attention is allowed: |i-j| <= w on the flattened token index."""
    i = torch.arange(n)
    return (i[:, None] - i[None, :]).abs() <= w


class Attention(nn.Module):
    def __init__(self, dim, heads=4, window=None, noise=False):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)
        self.window = window
        self.noise = noise
        self.skip_zero_noise = False   # set by export_onnx_ref.py --drop-zero-noise
        # Registration order is the official one (noise_strength_1 first): it fixes the
        # parameters() order, hence the Adam state indices in the optimizer state_dict.
        if noise:
            self.noise_strength_1 = nn.Parameter(torch.zeros([]))
        if window is not None:
            self.relative_position_bias_table = nn.Parameter(
                torch.zeros((2 * window - 1) ** 2, heads))
            self.register_buffer("relative_position_index", rel_pos_index(window))

    def forward(self, x, mask_w=None):
        B, N, C = x.shape
        if self.noise and not (self.skip_zero_noise and float(self.noise_strength_1) == 0.0):
            # randn[B,N,1] * strength (randn_like draws the same numbers, and exports)
            x = x + torch.randn_like(x[:, :, :1]) * self.noise_strength_1
        d = C // self.heads
        qkv = self.qkv(x)                                   # [B,N,3C]
        q, k, v = qkv[..., :C], qkv[..., C:2 * C], qkv[..., 2 * C:]
        q = q.reshape(B, N, self.heads, d).transpose(1, 2)  # [B,h,N,d]
        k = k.reshape(B, N, self.heads, d).transpose(1, 2)
        v = v.reshape(B, N, self.heads, d).transpose(1, 2)
        logits = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        if self.window is not None:
            idx = self.relative_position_index.reshape(-1)
            bias = self.relative_position_bias_table[idx].reshape(N, N, self.heads)
            logits = logits + bias.permute(2, 0, 1).unsqueeze(0)
        if mask_w is not None:
            allowed = band_mask(N, mask_w)
            logits = logits.masked_fill(~allowed, -1e9)
        a = logits.softmax(dim=-1)
        out = torch.matmul(a, v).transpose(1, 2).reshape(B, N, C)
        return self.proj(out)


class Block(nn.Module):
    def __init__(self, dim, heads=4, mlp_ratio=4, window=None, noise=False, wrapped_norm=False):
        super().__init__()
        self.norm1 = make_norm(dim, wrapped_norm)
        self.attn = Attention(dim, heads, window=window, noise=noise)
        self.norm2 = make_norm(dim, wrapped_norm)
        self.mlp = Mlp(dim, mlp_ratio)

    def forward(self, x, mask_w=None):
        x = x + self.attn(self.norm1(x), mask_w)
        x = x + self.mlp(self.norm2(x))
        return x


class StageBlock(nn.Module):
    """final version: blocks live under `.block.N`."""

    def __init__(self, depth, **kw):
        super().__init__()
        self.block = nn.ModuleList([Block(**kw) for _ in range(depth)])

    def forward(self, x):
        for b in self.block:
            x = b(x)
        return x


def tokens_to_map(x, H, W):
    B, N, C = x.shape
    return x.permute(0, 2, 1).reshape(B, C, H, W)


def map_to_tokens(x):
    B, C, H, W = x.shape
    return x.reshape(B, C, H * W).permute(0, 2, 1)


def pixel_upsample(x, H, W):
    m = tokens_to_map(x, H, W)
    m = nn.PixelShuffle(2)(m)
    return map_to_tokens(m), 2 * H, 2 * W


# ---------------------------------------------------------------- generators

def v1_mask_width(epoch, n_stages):
    """Locality mask band width for the last block of the last stage (None: no mask)."""
    if epoch is None:
        return None
    if n_stages >= 4:
        sched = [(5, 8), (10, 12), (15, 16), (20, 20)]
    else:
        sched = [(22, 4), (32, 6), (42, 8), (60, 10)]
    for until, w in sched:
        if epoch < until:
            return w
    return None


class Generator(nn.Module):
    """version 'v1' (TransGAN_8_8_1 layout) or 'final' (ViT_custom_rp layout)."""

    def __init__(self, version, latent_dim, dim, bottom_width, depths, heads=4, mlp_ratio=4):
        super().__init__()
        assert version in ("v1", "final")
        self.version = version
        self.latent_dim = latent_dim
        self.dim = dim
        self.bw = bottom_width
        self.depths = list(depths)
        self.l1 = nn.Linear(latent_dim, bottom_width * bottom_width * dim)
        final = version == "final"
        for s in range(len(depths)):
            w = bottom_width * (2 ** s)
            c = dim // (4 ** s)
            setattr(self, "pos_embed_%d" % (s + 1), nn.Parameter(torch.zeros(1, w * w, c)))

        def kw(s):
            w = bottom_width * (2 ** s)
            return dict(dim=dim // (4 ** s), heads=heads, mlp_ratio=mlp_ratio,
                        window=w if final else None, wrapped_norm=final)

        if final:
            self.blocks = StageBlock(depths[0], **kw(0))
            self.upsample_blocks = nn.ModuleList(
                [StageBlock(depths[s], **kw(s)) for s in range(1, len(depths))])
        else:
            self.blocks = nn.ModuleList([Block(**kw(0)) for _ in range(depths[0])])
            self.upsample_blocks = nn.ModuleList(
                [nn.ModuleList([Block(**kw(s)) for _ in range(depths[s])])
                 for s in range(1, len(depths))])
            # unused in forward, present in official v1 state_dicts
            self.to_rgb = nn.Sequential(nn.BatchNorm2d(dim))
        c_last = dim // (4 ** (len(depths) - 1))
        self.deconv = nn.Sequential(nn.Conv2d(c_last, 3, 1, 1, 0))

    def stage_blocks(self, s):
        if self.version == "final":
            return list((self.blocks if s == 0 else self.upsample_blocks[s - 1]).block)
        return list(self.blocks if s == 0 else self.upsample_blocks[s - 1])

    def forward(self, z, epoch=None):
        B = z.shape[0]
        S = len(self.depths)
        mask_w = v1_mask_width(epoch, S) if self.version == "v1" else None
        x = self.l1(z).reshape(B, self.bw * self.bw, self.dim)
        H = W = self.bw
        for s in range(S):
            if s > 0:
                x, H, W = pixel_upsample(x, H, W)
            x = x + getattr(self, "pos_embed_%d" % (s + 1))
            blocks = self.stage_blocks(s)
            for i, b in enumerate(blocks):
                last = (s == S - 1) and (i == len(blocks) - 1)
                x = b(x, mask_w if last else None)
        return self.deconv(tokens_to_map(x, H, W))


# ---------------------------------------------------------------- discriminators

class DiscriminatorV1(nn.Module):
    """ViT_8_8 layout (no DiffAugment: eval / golden use)."""

    def __init__(self, image_size, dim, depth, patch, heads=4, mlp_ratio=4):
        super().__init__()
        self.patch = patch
        n = (image_size // patch) ** 2
        self.patch_embed = nn.Conv2d(3, dim, patch, patch, 0)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-5)
        self.head = nn.Linear(dim, 1)

    def forward(self, img):
        B = img.shape[0]
        x = map_to_tokens(self.patch_embed(img))
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1) + self.pos_embed
        for b in self.blocks:
            x = b(x)
        x = self.norm(x)
        return self.head(x[:, 0])


class DiscriminatorFinal(nn.Module):
    """ViT_custom_scale2_rp_noise layout (no DiffAugment)."""

    def __init__(self, image_size, dim, depth, patch, heads=4, mlp_ratio=4):
        super().__init__()
        c1 = dim * 3 // 4
        c2 = dim // 4
        self.w1 = image_size // patch
        self.w2 = image_size // (2 * patch)
        self.fRGB_1 = nn.Conv2d(3, c1, patch, patch, 0)
        self.fRGB_2 = nn.Conv2d(3, c2, 2 * patch, 2 * patch, 0)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed_1 = nn.Parameter(torch.zeros(1, self.w1 ** 2, c1))
        self.pos_embed_2 = nn.Parameter(torch.zeros(1, self.w2 ** 2, dim))
        common = dict(heads=heads, mlp_ratio=mlp_ratio, noise=True, wrapped_norm=True)
        self.blocks_1 = nn.ModuleList([Block(c1, window=self.w1, **common) for _ in range(depth)])
        self.blocks_2 = nn.ModuleList([Block(dim, window=self.w2, **common) for _ in range(depth)])
        self.last_block = nn.Sequential(Block(dim, window=None, **common))
        self.norm = NormWrap(dim)
        self.head = nn.Linear(dim, 1)

    def forward(self, img):
        B = img.shape[0]
        x1 = map_to_tokens(self.fRGB_1(img)) + self.pos_embed_1
        for b in self.blocks_1:
            x1 = b(x1)
        m = tokens_to_map(x1, self.w1, self.w1)
        m = F.avg_pool2d(m, 2)
        x2 = map_to_tokens(self.fRGB_2(img))
        x = torch.cat([map_to_tokens(m), x2], dim=2) + self.pos_embed_2
        for b in self.blocks_2:
            x = b(x)
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1)
        x = self.last_block(x)
        x = self.norm(x)
        return self.head(x[:, 0])


def build(cfg):
    """cfg: the case.json dict. Returns (G, D)."""
    G = Generator(cfg["version"], cfg["latent_dim"], cfg["g_dim"], cfg["bottom_width"],
                  cfg["g_depths"], cfg.get("g_heads", 4), cfg.get("mlp_ratio", 4))
    Dcls = DiscriminatorV1 if cfg["d_kind"] == "vit" else DiscriminatorFinal
    D = Dcls(cfg["image_size"], cfg["d_dim"], cfg["d_depth"], cfg["d_patch"],
             cfg.get("d_heads", 4), cfg.get("mlp_ratio", 4))
    return G, D
