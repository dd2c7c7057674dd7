"""IdempotencyRecord moves to the api app with its rows: the table and its index are renamed
here, and api/0001 takes the model over without touching the database."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('shipments', '0004_scan_shipment_without_index_or_db_constraint'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RenameIndex(
                    'IdempotencyRecord',
                    new_name='api_idempot_created_d9784e_idx',
                    old_name='shipments_i_created_83501a_idx',
                ),
                migrations.AlterModelTable('IdempotencyRecord', 'api_idempotencyrecord'),
            ],
            state_operations=[migrations.DeleteModel('IdempotencyRecord')],
        ),
    ]
