"""Give an SSCC to every shipment of a retailer that has a GS1 company prefix, oldest first,
numbering serial references from 1 as shipments.services.next_sscc does (extension digit 0).
Shipments of retailers without a prefix get theirs when the prefix is set
(shipments.services.set_company_prefix)."""

from django.db import migrations

from farms.gs1 import sscc


def backfill(apps, schema_editor):
    Retailer = apps.get_model("shipments", "Retailer")
    Shipment = apps.get_model("shipments", "Shipment")
    for retailer in Retailer.objects.exclude(gs1_company_prefix=None).order_by("pk"):
        prefix = retailer.gs1_company_prefix
        taken = Shipment.objects.filter(sscc__startswith=f"0{prefix}").order_by("-sscc").values_list("sscc", flat=True)
        serial = int(taken[0][1 + len(prefix) : 17]) if taken else 0
        waiting = Shipment.objects.filter(store__retailer=retailer, sscc=None).order_by("created_at", "pk")
        for shipment in waiting:
            serial += 1
            shipment.sscc = sscc(prefix, serial)
            shipment.save(update_fields=["sscc"])


class Migration(migrations.Migration):
    dependencies = [
        ("shipments", "0006_retailer_gs1_company_prefix_shipment_sscc"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
