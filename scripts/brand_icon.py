"""Draw LifeOps' brand icon into custom_components/lifeops/brand/ (icon.png and icon@2x.png).

Home Assistant 2026.3 and later serve a custom integration's own `brand/` folder through their
brands proxy, so the icon travels with the integration. The picture: a crescent moon over a
heartbeat line, white on the add-on's teal, on a rounded square. It is drawn four times larger
than needed and scaled down, which smooths its edges. Needs Pillow (in the development venvs).

    .venv/bin/python scripts/brand_icon.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
BRAND = ROOT / "custom_components" / "lifeops" / "brand"
SIZES = {"icon.png": 256, "icon@2x.png": 512}
TEAL = (0, 128, 128, 255)
WHITE = (255, 255, 255, 255)
OVERSAMPLE = 4


def draw(size: int) -> Image.Image:
    """The icon, `size` pixels square."""
    big = size * OVERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)

    def at(x: float, y: float) -> tuple[float, float]:
        return x * big, y * big

    def circle(x: float, y: float, radius: float, fill: tuple[int, ...]) -> None:
        pen.ellipse([*at(x - radius, y - radius), *at(x + radius, y + radius)], fill=fill)

    pen.rounded_rectangle([0, 0, big - 1, big - 1], radius=0.2 * big, fill=TEAL)
    # The moon: a white disc with a teal one laid over its upper right.
    circle(0.46, 0.33, 0.19, WHITE)
    circle(0.56, 0.26, 0.16, TEAL)
    # The heartbeat, with round ends.
    line = [(0.14, 0.74), (0.40, 0.74), (0.47, 0.63), (0.55, 0.86), (0.62, 0.74), (0.86, 0.74)]
    width = 0.06
    pen.line([at(x, y) for x, y in line], fill=WHITE, width=round(width * big), joint="curve")
    for x, y in (line[0], line[-1]):
        circle(x, y, width / 2, WHITE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write the icons (or only show where they would go)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BRAND, help=f"folder (default {BRAND})")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, size in SIZES.items():
        draw(size).save(args.out / name, optimize=True)
        print(args.out / name)


if __name__ == "__main__":
    main()
