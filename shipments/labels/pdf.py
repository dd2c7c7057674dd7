"""Labels as a PDF at the exact stock size, drawn with reportlab.

Why it is fast: every label of a shipment is identical, so the QR is drawn once as a PDF form
object (its dark modules merged into horizontal runs, all in one path), the whole label, text
included, is a second form that uses it, and each copy is a single "place form here" operator.
"""

import io

from reportlab.pdfgen import canvas

from shipments import qr
from shipments.labels.fonts import runs
from shipments.labels.layouts import MM, Layout, check_counts
from shipments.labels.placement import Design, LabelData, design


def _qr_path(pdf: canvas.Canvas, design: Design):
    """The dark modules as one path: each row's runs of dark modules merged into one rectangle."""
    path = pdf.beginPath()
    m = design.module * MM
    size = design.qr_size * MM
    quiet = qr.QUIET_ZONE
    for r, row in enumerate(design.matrix):
        y = size - (r + quiet + 1) * m
        c, n = 0, len(row)
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                path.rect((start + quiet) * m, y, (c - start) * m, m)
            else:
                c += 1
    return path


def _define_label_form(pdf: canvas.Canvas, design: Design) -> None:
    size = design.qr_size * MM
    pdf.beginForm("qr", 0, 0, size, size)
    pdf.setFillColorRGB(0, 0, 0)
    pdf.drawPath(_qr_path(pdf, design), stroke=0, fill=1)
    pdf.endForm()

    w, h = design.width * MM, design.height * MM
    pdf.beginForm("label", 0, 0, w, h)
    pdf.saveState()
    pdf.translate(design.qr_x * MM, h - (design.qr_y + design.qr_size) * MM)
    pdf.doForm("qr")
    pdf.restoreState()
    pdf.setFillColorRGB(0, 0, 0)
    for line in design.lines:
        text = pdf.beginText(line.x * MM, h - line.baseline * MM)
        for run, font in runs(line.text):
            text.setFont(font, line.size)
            text.textOut(run)
        pdf.drawText(text)
    pdf.endForm()


def render_pdf(layout: Layout, data: LabelData, copies: int, start: int = 1) -> bytes:
    """`copies` labels starting at slot `start` (1-based) of the first page."""
    check_counts(layout, copies, start)
    label = design(layout, data)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(
        buffer,
        pagesize=(layout.page_width * MM, layout.page_height * MM),
        # A roll has one page per label whose whole content is "place the label form": deflating
        # a thousand such streams costs more time (a quarter of the render) and bytes than it saves.
        pageCompression=1 if layout.is_sheet else 0,
        invariant=1,
    )
    pdf.setTitle(f"{data.crop_zh} {data.village_zh} · {data.url}")
    pdf.setCreator("farm-to-table traceability labels")
    _define_label_form(pdf, label)
    page_height = layout.page_height * MM
    slot = start - 1
    for _copy in range(copies):
        if slot == layout.slots:
            pdf.showPage()
            slot = 0
        x, y = layout.slot_origin(slot)
        pdf.saveState()
        pdf.translate(x * MM, page_height - (y + layout.label_height) * MM)
        pdf.doForm("label")
        pdf.restoreState()
        slot += 1
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
