"""The api app takes over IdempotencyRecord from shipments with its rows: shipments/0005 renamed
the table (shipments_idempotencyrecord -> api_idempotencyrecord) and its index, so this
migration only records the model in the api app's state and moves its content type (and with it
any permissions granted on the model)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model('contenttypes', 'ContentType')
    if not ContentType.objects.filter(app_label=new, model='idempotencyrecord').exists():
        ContentType.objects.filter(app_label=old, model='idempotencyrecord').update(app_label=new)


def move_content_type(apps, schema_editor):
    _relabel(apps, 'shipments', 'api')


def move_content_type_back(apps, schema_editor):
    _relabel(apps, 'api', 'shipments')


class Migration(migrations.Migration):

    initial = True

    # The table was created by shipments/0003 and renamed by shipments/0005: migration history,
    # not an import (api imports nothing of the apps above it).
    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('shipments', '0005_move_idempotencyrecord_to_api'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=255)),
                ('route', models.CharField(help_text='Method and path the key was used on.', max_length=512)),
                ('fingerprint', models.CharField(help_text='SHA-256 of the request body.', max_length=64)),
                ('status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('response', models.JSONField(blank=True, null=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'idempotency record',
                'verbose_name_plural': 'idempotency records',
                'indexes': [models.Index(fields=['created_at'], name='api_idempot_created_d9784e_idx')],
                'constraints': [models.UniqueConstraint(fields=('user', 'route', 'key'), name='idempotency_key_unique')],
            },
        )]),
        migrations.RunPython(move_content_type, move_content_type_back, elidable=True),
    ]
