"""LART in PyTorch, mirroring actionbench-models' LART: a 229-d pose MLP
with two hidden layers, a learnable mask token, sinusoidal time / track-id
encodings, a post-norm GELU transformer encoder (width 512, 16 heads, 16
layers, feed-forward 4x width, dropout 0.1), the paper's two attention
masking rules and a linear head to 80 classes. The peer of `scripts/bench
gpu` and `scripts/bench cpu-step`.
"""
import math

import torch
import torch.nn as nn

W, HEADS, LAYERS, CLASSES = 512, 16, 16, 80


def position_encoding(frames, people, width):
    half = width // 2
    out = torch.zeros(people * frames, width)
    for i in range(people):
        for t in range(frames):
            row = out[i * frames + t]
            for offset, pos in ((0, t), (half, i)):
                for r in range(half // 2):
                    angle = pos / 10000 ** (4 * r / width)
                    row[offset + 2 * r] = math.sin(angle)
                    row[offset + 2 * r + 1] = math.cos(angle)
    return out


class Lart(nn.Module):
    def __init__(self, frames, people):
        super().__init__()
        self.pose_mlp = nn.Sequential(nn.Linear(229, W), nn.ReLU(), nn.Linear(W, W), nn.ReLU(), nn.Linear(W, W))
        self.mask_token = nn.Parameter(torch.zeros(W))
        layer = nn.TransformerEncoderLayer(W, HEADS, 4 * W, dropout=0.1, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        self.head = nn.Linear(W, CLASSES)
        self.register_buffer("pe", position_encoding(frames, people, W).unsqueeze(0))

    def forward(self, pose, valid, masked):
        n, t, p, _ = pose.shape
        s = p * t
        x = self.pose_mlp(pose).permute(0, 2, 1, 3).reshape(n, s, W)
        missing = (~valid).permute(0, 2, 1).reshape(n, s)
        hidden = masked.permute(0, 2, 1).reshape(n, s)
        x = torch.where((missing | hidden).unsqueeze(-1), self.mask_token.expand(n, s, W), x) + self.pe
        eye = torch.eye(s, dtype=torch.bool, device=pose.device)
        attn = (hidden.unsqueeze(1).expand(n, s, s) & ~eye).repeat_interleave(HEADS, dim=0)
        y = self.encoder(x, mask=attn, src_key_padding_mask=missing)
        return self.head(y).reshape(n, p, t, CLASSES)[:, 0]
