"""Signed anchors of the chains' heads: made on demand with a key kept out of the database,
refused without a usable key, exported to a file an auditor keeps, and checked by verify_events."""

import base64
import json
import os
import tempfile
from io import StringIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase, override_settings

from tests.support import anchor_key
from tests.traceability.scenario import Scenario
from tests.traceability.test_verification import delete_events, tamper
from traceability import anchors
from traceability.models import Anchor, ChainCheck, TraceEvent
from traceability.services import record_batch_event

KEY, OTHER_KEY = anchor_key(), anchor_key()


def public(key: str) -> str:
    private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(key))
    return anchors.public_key_text(private.public_key())


def key_id(key: str) -> str:
    return anchors.key_id(Ed25519PrivateKey.from_private_bytes(base64.b64decode(key)).public_key())


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(command: str, *args) -> str:
    """The message of the CommandError the command ends with."""
    try:
        call_command(command, *args, stdout=StringIO(), stderr=StringIO())
    except CommandError as exc:
        return str(exc)
    raise AssertionError(f"{command} did not fail")


def broken(*args) -> str:
    err = StringIO()
    try:
        call_command("verify_events", *args, stdout=StringIO(), stderr=err)
    except CommandError:
        return err.getvalue()
    raise AssertionError("verify_events did not fail")


@override_settings(ANCHOR_SIGNING_KEY=KEY, ANCHOR_SIGNING_KEY_FILE="", ANCHOR_PUBLIC_KEYS=[])
class AnchorTests(TestCase):
    def setUp(self):
        self.s = Scenario(registered=True)
        self.dir = tempfile.mkdtemp()
        self.file = os.path.join(self.dir, "anchor.json")

    def tearDown(self):
        for name in os.listdir(self.dir):
            os.remove(os.path.join(self.dir, name))
        os.rmdir(self.dir)

    def head(self) -> TraceEvent:
        return TraceEvent.objects.filter(village=self.s.village).order_by("-seq").first()

    def test_an_anchor_signs_every_chains_head_and_records_it_per_chain(self):
        out = run("anchor_chains")
        row = Anchor.objects.get()
        head = self.head()
        self.assertEqual(out, f"Anchored: {anchors.from_row(row)} (key {key_id(KEY)}): XJ seq {head.seq}.\n")
        body = json.loads(row.payload)
        self.assertEqual(
            body["chains"], [{"village_id": self.s.village.pk, "village": "XJ", "seq": head.seq, "hash": head.hash}]
        )
        self.assertEqual((row.key_id, body["key_id"]), (key_id(KEY), key_id(KEY)))
        check = ChainCheck.objects.get(village=self.s.village)
        self.assertEqual((check.anchored_seq, check.anchored_at), (head.seq, row.created_at))
        self.assertEqual((check.ok, check.verified_at), (False, None))  # anchoring is not a verification run

    def test_anchoring_again_with_nothing_new_writes_nothing_and_new_events_get_a_new_anchor(self):
        run("anchor_chains")
        first = Anchor.objects.get()
        self.assertEqual(
            run("anchor_chains"), f"No chain has grown since {anchors.from_row(first)}: nothing new to anchor.\n"
        )
        self.assertEqual(Anchor.objects.count(), 1)
        record_batch_event(batch=self.s.l3, kind="harvest", occurred_at=self.s.l3.created_at)
        run("anchor_chains")
        self.assertEqual(Anchor.objects.count(), 2)
        newest = anchors.from_row(Anchor.objects.order_by("-id").first())
        self.assertEqual(newest.head(self.s.village.pk).seq, self.head().seq)

    def test_the_key_can_come_from_a_pem_file(self):
        pem = Ed25519PrivateKey.from_private_bytes(base64.b64decode(KEY)).private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
        path = os.path.join(self.dir, "anchor.pem")
        with open(path, "wb") as file:
            file.write(pem)
        with self.settings(ANCHOR_SIGNING_KEY="", ANCHOR_SIGNING_KEY_FILE=path):
            run("anchor_chains")
            self.assertEqual(run("anchor_chains", "--show-key"), f"key id {key_id(KEY)}\npublic key {public(KEY)}\n")
        self.assertEqual(Anchor.objects.get().key_id, key_id(KEY))

    # Bad keys: a clear refusal, nothing written --------------------------------------------

    def assert_refused(self, message: str, **key_settings):
        with self.settings(**key_settings):
            self.assertEqual(refused("anchor_chains"), message)
        self.assertEqual((Anchor.objects.count(), ChainCheck.objects.count()), (0, 0))

    def test_no_key_is_refused(self):
        self.assert_refused(
            "No signing key: set ANCHOR_SIGNING_KEY (base64 or PEM) or ANCHOR_SIGNING_KEY_FILE (see "
            "docs/deployment.md, Anchoring). Nothing was anchored.",
            ANCHOR_SIGNING_KEY="",
        )

    def test_a_key_that_is_not_one_is_refused(self):
        self.assert_refused(
            "ANCHOR_SIGNING_KEY is neither PEM nor base64 of a 32-byte Ed25519 private key (make one with "
            "`openssl genpkey -algorithm ed25519`). Nothing was anchored.",
            ANCHOR_SIGNING_KEY="c2VjcmV0",
        )

    def test_a_key_of_another_algorithm_is_refused(self):
        rsa = generate_private_key(public_exponent=65537, key_size=1024)
        pem = rsa.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
        self.assert_refused(
            "ANCHOR_SIGNING_KEY is a RSAPrivateKey, not an Ed25519 private key. Nothing was anchored.",
            ANCHOR_SIGNING_KEY=pem,
        )

    def test_a_missing_key_file_is_refused(self):
        path = os.path.join(self.dir, "nowhere.pem")
        self.assert_refused(
            f"ANCHOR_SIGNING_KEY_FILE {path} cannot be read: [Errno 2] No such file or directory: '{path}'. "
            "Nothing was anchored.",
            ANCHOR_SIGNING_KEY="",
            ANCHOR_SIGNING_KEY_FILE=path,
        )

    def test_a_key_whose_public_key_is_not_listed_is_a_wrong_key_and_refused(self):
        self.assert_refused(
            f"The signing key (id {key_id(KEY)}) is not among ANCHOR_PUBLIC_KEYS: a wrong key? Anchors it signed "
            f"would not verify. Use the right key, or add its public key {public(KEY)} to ANCHOR_PUBLIC_KEYS "
            "if it is a new one. Nothing was anchored.",
            ANCHOR_PUBLIC_KEYS=[public(OTHER_KEY)],
        )

    def test_a_chain_that_does_not_verify_is_not_anchored(self):
        cooling = TraceEvent.objects.get(kind="cooling")
        tamper(("UPDATE traceability_traceevent SET location_name = 'x' WHERE id = %s", [cooling.pk]))
        message = refused("anchor_chains")
        self.assertTrue(message.startswith("Anchoring refused, nothing written: the record does not verify"))
        self.assertIn(f"seq {cooling.seq}, event id {cooling.pk}: the stored content does not match its hash", message)
        self.assertEqual(Anchor.objects.count(), 0)

    def test_a_chain_cut_short_since_the_last_anchor_is_not_anchored_again(self):
        run("anchor_chains")
        delete_events(self.head())
        self.assertIn("event(s) were removed from its end", refused("anchor_chains"))
        self.assertEqual(Anchor.objects.count(), 1)

    # Files an auditor keeps ------------------------------------------------------------------

    def test_an_exported_anchor_detects_a_cut_even_when_the_databases_anchors_are_gone(self):
        last, _created = record_batch_event(
            batch=self.s.l3, kind="temperature", occurred_at=self.s.l3.created_at, data={"temperature_c": 4}
        )
        run("anchor_chains", "--export", self.file)
        with open(self.file) as file:
            kept = json.load(file)
        self.assertEqual(kept["public_key"], public(KEY))
        self.assertEqual(kept["anchor"]["chains"][0]["seq"], last.seq)
        self.assertIn("OK: ", run("verify_events", "--anchor", self.file))
        delete_events(last)
        tamper(("DELETE FROM traceability_anchor", []))
        self.assertIn("OK: ", run("verify_events"))  # nothing in the database shows the cut any more
        self.assertIn(
            f"BROKEN: village XJ (id {self.s.village.pk}): the chain ends at seq {last.seq - 1} but the anchor "
            f"file {self.file} of ",
            broken("--anchor", self.file),
        )

    def test_export_anchor_writes_the_newest_anchor(self):
        run("anchor_chains")
        self.assertEqual(
            run("export_anchor", self.file), f"Exported {anchors.from_row(Anchor.objects.get())} to {self.file}.\n"
        )
        self.assertIn("OK: ", run("verify_events", "--anchor", self.file))

    def test_a_corrupt_or_altered_anchor_file_is_reported_as_such(self):
        run("anchor_chains", "--export", self.file)
        with open(self.file) as file:
            kept = json.load(file)
        cases = {
            "not json": "{ this is not",
            "no anchor": json.dumps({"signature": "x"}),
            "altered": json.dumps({**kept, "anchor": {**kept["anchor"], "chains": []}}),
            "bad format": json.dumps({**kept, "anchor": {**kept["anchor"], "format": "other/9"}}),
        }
        messages = {}
        for name, text in cases.items():
            with open(self.file, "w") as file:
                file.write(text)
            messages[name] = refused("verify_events", "--anchor", self.file)
        where = f"the anchor file {self.file}"
        self.assertTrue(messages["not json"].startswith(f"{where} is corrupt: not JSON ("))
        self.assertEqual(messages["no anchor"], f"{where} is corrupt: it has no anchor and signature.")
        self.assertTrue(messages["altered"].startswith(f"{where} of "))
        self.assertTrue(
            messages["altered"].endswith(": the signature does not verify (the anchor was altered or forged).")
        )
        self.assertEqual(
            messages["bad format"], f"{where} is corrupt: format is 'other/9', not 'traceability-anchor/1'."
        )
        missing = os.path.join(self.dir, "missing.json")
        self.assertEqual(
            refused("verify_events", "--anchor", missing),
            f"the anchor file {missing} cannot be read: No such file or directory.",
        )

    def test_an_auditor_without_the_key_trusts_the_public_key_they_were_given(self):
        run("anchor_chains", "--export", self.file)
        with self.settings(ANCHOR_SIGNING_KEY=""):
            message = refused("verify_events", "--anchor", self.file)
            self.assertTrue(message.endswith(f"is signed by key {key_id(KEY)}, which is not trusted here (list its "
                                             "public key in ANCHOR_PUBLIC_KEYS, or pass --trust)."))  # fmt: skip
            self.assertIn("OK: ", run("verify_events", "--anchor", self.file, "--trust", public(KEY)))

    # Anchors in the database -----------------------------------------------------------------

    def test_an_altered_anchor_row_is_reported_and_the_one_before_it_still_counts(self):
        run("anchor_chains")
        record_batch_event(batch=self.s.l3, kind="harvest", occurred_at=self.s.l3.created_at)
        run("anchor_chains")
        first, second = Anchor.objects.order_by("id")
        payload = second.payload.replace(f'"seq":{self.head().seq}', '"seq":1000')
        tamper(("UPDATE traceability_anchor SET payload = %s WHERE id = %s", [payload, second.pk]))
        err = broken()
        self.assertIn(f"BROKEN: anchor #{second.pk} of ", err)
        self.assertIn(": the signature does not verify (the anchor was altered or forged).", err)
        self.assertNotIn(f"anchor #{first.pk}", err)

    def test_after_a_key_rotation_old_anchors_verify_while_the_old_public_key_is_listed(self):
        run("anchor_chains")
        record_batch_event(batch=self.s.l3, kind="harvest", occurred_at=self.s.l3.created_at)
        with self.settings(ANCHOR_SIGNING_KEY=OTHER_KEY, ANCHOR_PUBLIC_KEYS=[public(KEY), public(OTHER_KEY)]):
            run("anchor_chains")
            self.assertIn("OK: ", run("verify_events"))
            self.assertEqual(list(Anchor.objects.order_by("id").values_list("key_id", flat=True)),
                             [key_id(KEY), key_id(OTHER_KEY)])  # fmt: skip
        with self.settings(ANCHOR_SIGNING_KEY=OTHER_KEY, ANCHOR_PUBLIC_KEYS=[]):
            self.assertIn(f"is signed by key {key_id(KEY)}, which is not trusted here", broken())
