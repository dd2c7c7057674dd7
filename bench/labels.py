"""Label rendering speed: 1000 labels on an A4 3 x 7 sheet and on 50 x 30 mm thermal labels.

    .venv/bin/python bench/labels.py [--copies N] [--repeat R]

Renders plain label data (no database), best of R runs, and prints labels per second. The
target (issue 4) is 1000 labels in under one second on the project's 2-core machine.
"""

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from shipments import labels  # noqa: E402

DATA = labels.LabelData(
    url="https://trace.example.cn/s/K7Q2M9XW4PZT8R3N",
    crop_zh="杨梅",
    crop_en="Waxberry",
    village_zh="仙居县杨梅村",
    village_en="Xianju Waxberry Village",
    lot_codes=("XJ-WAX-20260612-003",),
    harvested_from=date(2026, 6, 12),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    labels.register_fonts()  # once per process, like a warm app server
    print(f"{'layout':<16} {'format':<6} {'labels':>6} {'pages':>5} {'bytes':>8} {'seconds':>8} {'labels/s':>9}")
    for name, fmt in (("a4-3x7", "pdf"), ("thermal-50x30", "pdf"), ("thermal-50x30", "zpl")):
        layout = labels.LAYOUTS[name]
        render = labels.render_pdf if fmt == "pdf" else labels.render_zpl
        best, body = float("inf"), b""
        for _ in range(args.repeat):
            started = time.perf_counter()
            body = render(layout, DATA, args.copies)
            best = min(best, time.perf_counter() - started)
        pages = -(-args.copies // layout.slots) if fmt == "pdf" else 1
        print(f"{name:<16} {fmt:<6} {args.copies:>6} {pages:>5} {len(body):>8} {best:>8.3f} {args.copies / best:>9.0f}")


if __name__ == "__main__":
    main()
