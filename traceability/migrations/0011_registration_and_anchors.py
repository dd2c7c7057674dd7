"""Issue 13: the registration event kind (a lot's farm, field, crop, quantity and unit in the
chain), signed anchors of the chains' heads, and the per-chain summary of the last verification.

SQLite rebuilds traceability_traceevent to change its kind CHECK, and refuses to rename the rebuilt
table while the trigger of migration 0004 that reads it on every new event line exists: the
trigger is dropped first and installed again last (both ways).
"""

import importlib

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def drop_sqlite_line_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS traceability_eventbatch_event_kind", params=None)


def install_sqlite_line_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    lines = importlib.import_module("traceability.migrations.0004_lineage_and_movement_lines")
    trigger = next(sql for sql in lines.SQLITE_INSTALL if "traceability_eventbatch_event_kind" in sql)
    schema_editor.execute("DROP TRIGGER IF EXISTS traceability_eventbatch_event_kind", params=None)
    schema_editor.execute(trigger, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('farms', '0003_photos_reencoded'),
        ('traceability', '0010_merge_0009_batch_client_id_0009_lot_code_alphabet'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Anchor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='anchored at')),
                ('key_id', models.CharField(max_length=16, verbose_name='key id')),
                ('payload', models.TextField()),
                ('signature', models.CharField(max_length=100)),
            ],
            options={
                'verbose_name': 'anchor',
                'verbose_name_plural': 'anchors',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='ChainCheck',
            fields=[
                ('village', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='chain_check', serialize=False, to='farms.village', verbose_name='village')),
                ('ok', models.BooleanField(default=False, verbose_name='verified')),
                ('problem', models.TextField(blank=True, verbose_name='problem')),
                ('verified_at', models.DateTimeField(blank=True, null=True, verbose_name='verified at')),
                ('verified_seq', models.PositiveBigIntegerField(default=0)),
                ('anchored_at', models.DateTimeField(blank=True, null=True, verbose_name='anchored at')),
                ('anchored_seq', models.PositiveBigIntegerField(default=0)),
            ],
            options={
                'verbose_name': 'chain check',
                'verbose_name_plural': 'chain checks',
            },
        ),
        migrations.RunPython(drop_sqlite_line_trigger, install_sqlite_line_trigger, elidable=False),
        migrations.RemoveConstraint(
            model_name='traceevent',
            name='event_kind_valid',
        ),
        migrations.AlterField(
            model_name='eventbatch',
            name='event_kind',
            field=models.CharField(choices=[('planting', 'Planting'), ('input_applied', 'Input applied'), ('harvest', 'Harvest'), ('cooling', 'Cooling'), ('packing', 'Packing'), ('quality_test', 'Quality test'), ('shipping', 'Shipping'), ('receiving', 'Receiving'), ('transformation', 'Transformation'), ('temperature', 'Temperature reading'), ('correction', 'Correction'), ('hold_decision', 'Hold decision'), ('registration', 'Registration')], editable=False, max_length=16),
        ),
        migrations.AlterField(
            model_name='traceevent',
            name='kind',
            field=models.CharField(choices=[('planting', 'Planting'), ('input_applied', 'Input applied'), ('harvest', 'Harvest'), ('cooling', 'Cooling'), ('packing', 'Packing'), ('quality_test', 'Quality test'), ('shipping', 'Shipping'), ('receiving', 'Receiving'), ('transformation', 'Transformation'), ('temperature', 'Temperature reading'), ('correction', 'Correction'), ('hold_decision', 'Hold decision'), ('registration', 'Registration')], max_length=16, verbose_name='kind'),
        ),
        migrations.AddConstraint(
            model_name='traceevent',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['planting', 'input_applied', 'harvest', 'cooling', 'packing', 'quality_test', 'shipping', 'receiving', 'transformation', 'temperature', 'correction', 'hold_decision', 'registration'])), name='event_kind_valid'),
        ),
        migrations.RunPython(install_sqlite_line_trigger, drop_sqlite_line_trigger, elidable=False),
    ]
