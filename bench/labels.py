"""Label rendering speed: 1000 labels on an A4 3 x 7 sheet and on 50 x 30 mm thermal labels.

    .venv/bin/python bench/labels.py [--copies N] [--repeat R]

Renders plain label data (no database), best of R runs (wall clock, and the process's CPU time,
which a busy shared machine disturbs less), and prints labels per second, with the QR
as the short URL and as a GS1 Digital Link (a lot with its expiry date, the element strings under
the symbol). Targets: 1000 labels in under one second (issue 4); 1000 thermal labels in under
0.3 s (issue 16), in both modes, on the project's 2-core machine.
"""

import argparse
import os
import sys
import time
from dataclasses import replace
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
# The same label in GS1 Digital Link mode (a lot with its expiry date), as the till reads it.
DL_DATA = replace(
    DATA,
    url="https://trace.example.cn/01/09506000134352/10/XJ-WAX-20260612-003?17=260619",
    hri=("(01) 09506000134352", "(10) XJ-WAX-20260612-003", "(17) 260619"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    labels.register_fonts()  # once per process, like a warm app server
    print(
        f"{'layout':<16} {'fmt':<4} {'qr':<4} {'labels':>6} {'pages':>5} {'bytes':>8} {'seconds':>8} {'cpu s':>8} "
        f"{'labels/s':>9}"
    )
    runs = [("a4-3x7", "pdf", DATA), ("thermal-50x30", "pdf", DATA), ("thermal-50x30", "zpl", DATA)]
    runs += [("a4-3x7", "pdf", DL_DATA), ("thermal-50x30", "pdf", DL_DATA), ("thermal-50x30", "zpl", DL_DATA)]
    for name, fmt, data in runs:
        layout = labels.LAYOUTS[name]
        render = labels.render_pdf if fmt == "pdf" else labels.render_zpl
        best, cpu, body = float("inf"), float("inf"), b""
        for _ in range(args.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            body = render(layout, data, args.copies)
            best = min(best, time.perf_counter() - started)
            cpu = min(cpu, time.process_time() - started_cpu)
        pages = -(-args.copies // layout.slots) if fmt == "pdf" else 1
        mode = "dl" if data.hri else "url"
        print(
            f"{name:<16} {fmt:<4} {mode:<4} {args.copies:>6} {pages:>5} {len(body):>8} {best:>8.3f} {cpu:>8.3f} "
            f"{args.copies / best:>9.0f}"
        )


if __name__ == "__main__":
    main()
