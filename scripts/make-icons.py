#!/usr/bin/env python3
"""Draws Steward Console's icons (icons/*.png at the repository root) with nothing but the
standard library: a slate-blue rounded square with a white shield and a check mark, antialiased
by supersampling. Run it again after changing the drawing; the PNGs are committed."""

import math
import os
import struct
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "icons")

BACKGROUND = (31, 58, 95)   # slate blue
SHIELD = (255, 255, 255)
CHECK = (31, 58, 95)
SAMPLES = 4                 # supersampling per axis


def rounded_square(x, y):
    """Inside a square of side 1 with corner radius 0.2 and a small margin."""
    m, r = 0.04, 0.2
    if not (m <= x <= 1 - m and m <= y <= 1 - m):
        return False
    cx = min(max(x, m + r), 1 - m - r)
    cy = min(max(y, m + r), 1 - m - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def shield(x, y):
    """A shield: flat top, straight sides, curving to a point at the bottom."""
    top, mid, bottom = 0.2, 0.52, 0.84
    left, right = 0.26, 0.74
    if y < top or y > bottom:
        return False
    if y <= mid:
        return left <= x <= right
    # Below the middle the half-width shrinks along a circle-ish curve to 0 at the bottom.
    t = (y - mid) / (bottom - mid)
    half = (right - left) / 2 * math.sqrt(max(0.0, 1 - t * t))
    return abs(x - 0.5) <= half


def near_segment(x, y, a, b, width):
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    px, py = ax + t * dx, ay + t * dy
    return (x - px) ** 2 + (y - py) ** 2 <= (width / 2) ** 2


def check(x, y):
    w = 0.075
    return near_segment(x, y, (0.37, 0.5), (0.47, 0.6), w) or near_segment(
        x, y, (0.47, 0.6), (0.64, 0.4), w
    )


def pixel(px, py, size):
    acc = [0.0, 0.0, 0.0, 0.0]
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            x = (px + (sx + 0.5) / SAMPLES) / size
            y = (py + (sy + 0.5) / SAMPLES) / size
            if not rounded_square(x, y):
                continue
            if check(x, y):
                colour = CHECK
            elif shield(x, y):
                colour = SHIELD
            else:
                colour = BACKGROUND
            for i in range(3):
                acc[i] += colour[i]
            acc[3] += 255
    n = SAMPLES * SAMPLES
    alpha = acc[3] / n
    if alpha == 0:
        return (0, 0, 0, 0)
    # Colour channels are averaged over covered samples only (straight alpha).
    covered = acc[3] / 255
    return tuple(round(c / covered) for c in acc[:3]) + (round(alpha),)


def png(size):
    raw = bytearray()
    for py in range(size):
        raw.append(0)  # filter: none
        for px in range(size):
            raw.extend(pixel(px, py, size))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, size in [
        ("32x32.png", 32),
        ("128x128.png", 128),
        ("128x128@2x.png", 256),
        ("icon.png", 512),
    ]:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(png(size))
        print(f"wrote icons/{name}")


if __name__ == "__main__":
    main()
