"""IdempotencyRecord moved from shipments to api (shipments/0005, api/0001) with its table's rows:
a key a client used before the upgrade still answers after it."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase

from api.models import IdempotencyRecord
from tests.support import api_client, make_api_world

BEFORE = [("shipments", "0004_scan_shipment_without_index_or_db_constraint"), ("api", None)]


def migrate(targets):
    """Migrates the test database to `targets` and returns the models as they were there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    nodes = [target for target in targets if target[1] is not None]
    return MigrationExecutor(connection).loader.project_state(nodes).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


class IdempotencyRecordMoveTests(TransactionTestCase):
    def tearDown(self):
        migrate(latest())

    def test_rows_written_before_the_move_are_kept_and_honoured_after_it(self):
        old = migrate(BEFORE)
        dora = old.get_model("auth", "User").objects.create(username="dora")
        OldRecord = old.get_model("shipments", "IdempotencyRecord")
        OldRecord.objects.create(
            user=dora, key="k1", route="POST /api/v1/batches/", fingerprint="f" * 64, status_code=201, response={"a": 1}
        )
        OldRecord.objects.create(user=dora, key="k2", route="POST /api/v1/batches/", fingerprint="e" * 64)

        migrate(latest())

        tables = set(connection.introspection.table_names())
        self.assertEqual(("api_idempotencyrecord" in tables, "shipments_idempotencyrecord" in tables), (True, False))
        self.assertEqual(
            list(
                IdempotencyRecord.objects.order_by("key").values_list(
                    "user__username", "key", "status_code", "response"
                )
            ),
            [("dora", "k1", 201, {"a": 1}), ("dora", "k2", None, None)],
        )
        # dora's key from before the upgrade is still hers: another body with it is refused.
        dora = IdempotencyRecord.objects.get(key="k1").user
        reused = api_client(dora).post("/api/v1/batches/", {"quantity": "1"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
        self.assertEqual((reused.status_code, reused.json()["error"]["code"]), (422, "unprocessable"))

        # New keys are stored in the moved table and replayed from it.
        w = make_api_world()
        body = {"farm": w.farm.pk, "crop": w.crop.pk, "quantity": "5", "planted_on": "2026-03-01"}
        client = api_client(w.alice)
        first = client.post("/api/v1/batches/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
        again = client.post("/api/v1/batches/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
        self.assertEqual((first.status_code, again.status_code, again["Idempotent-Replayed"]), (201, 201, "true"))
        self.assertEqual(again.json(), first.json())
        self.assertEqual(IdempotencyRecord.objects.get(key="k").status_code, 201)
