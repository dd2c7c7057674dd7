"""manage.py print_labels: writes PDF or ZPL to a file, lists the layouts, writes nothing on bad input."""

import io
import os
import tempfile

from django.core.management import CommandError, call_command

from shipments import labels
from tests.shipments.labels.support import LabelFixture, decode_cells


class PrintLabelsCommandTests(LabelFixture):
    def test_it_writes_the_labels_to_the_output_file(self):
        with tempfile.TemporaryDirectory() as folder:
            output = os.path.join(folder, "labels.pdf")
            call_command(
                "print_labels",
                self.shipment.public_code.lower(),
                layout="a4-4x10",
                copies=3,
                start=39,
                output=output,
                stderr=io.StringIO(),
            )
            with open(output, "rb") as handle:
                cells = decode_cells(handle.read(), labels.LAYOUTS["a4-4x10"], 203)
        self.assertEqual(cells[0][38:], [self.url, self.url])
        self.assertEqual(cells[1][:2], [self.url, ""])

    def test_it_writes_zpl(self):
        with tempfile.TemporaryDirectory() as folder:
            output = os.path.join(folder, "labels.zpl")
            call_command(
                "print_labels",
                self.shipment.public_code,
                layout="thermal-60x40",
                copies=12,
                fmt="zpl",
                output=output,
                stderr=io.StringIO(),
            )
            with open(output, encoding="utf-8") as handle:
                self.assertIn("^PQ12,0,1,Y", handle.read())

    def test_list_layouts_names_every_layout(self):
        out = io.StringIO()
        call_command("print_labels", list_layouts=True, stdout=out)
        self.assertEqual([line.split()[0] for line in out.getvalue().splitlines()], list(labels.LAYOUTS))

    def test_bad_input_writes_nothing(self):
        with tempfile.TemporaryDirectory() as folder:
            output = os.path.join(folder, "labels.pdf")
            for options, message in [
                ({"layout": "a5"}, "Unknown layout “a5”"),
                ({"copies": 5001}, "from 1 to 5000"),
                ({"start": 22}, "from 1 to 21"),
            ]:
                with self.subTest(options=options), self.assertRaisesMessage(CommandError, message):
                    call_command("print_labels", self.shipment.public_code, output=output, **options)
                self.assertFalse(os.path.exists(output))
            with self.assertRaisesMessage(CommandError, "No shipment has the public code"):
                call_command("print_labels", "Z" * 16, output=output)
            self.assertFalse(os.path.exists(output))
