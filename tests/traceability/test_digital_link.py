"""GS1 Digital Link URI syntax: GS1's own parser test vectors, building, the element string and HRI.

SYNTAX_VECTORS are the Digital Link parser vectors of GS1's syntax engine (the public repository
gs1/gs1-syntax-engine, src/c-lib/dl.c, `test_dl_parseDLuri`), each written as (URI, element string
with "^" for FNC1, or None where the parser must refuse it). Kept: every vector whose primary key
is one we support (01 GTIN, 00 SSCC), with its key qualifiers (22, 10, 21, 235) and query-string
data attributes, and the vectors about the URI itself (scheme, host, characters, fragments,
query separators). Left out, as not applicable: vectors whose primary key we do not resolve
(253, 401, 414/254, 8004, 8018), the "convenience alphas" (`/gtin/`), which the engine itself
refuses by default and GS1 removed in URI syntax 1.3, the buffer-size boundaries (90-character
AI 99 value, MAX_AIS), and the unknown-AI vectors that need the engine's permissive flags. Where a
vector needs the engine's zero-suppressed-GTIN flag, it is marked and run with ours.
"""

from django.test import SimpleTestCase
from django.utils import translation

from traceability import digital_link
from traceability.digital_link_compression import decompress, expand

REFUSED = None
ZERO_SUPPRESSED = "zero-suppressed"

SYNTAX_VECTORS = [
    ("", REFUSED),
    ("ftp://", REFUSED),
    ("http://", REFUSED),
    ("http:///", REFUSED),  # no domain
    ("http://a", REFUSED),  # no path info
    ("http://a/", REFUSED),
    ("http://a/b", REFUSED),
    ("http://a/b/", REFUSED),
    ("http://a/00/006141411234567890", "^00006141411234567890"),
    ("HTTP://a/00/006141411234567890", "^00006141411234567890"),
    ("https://a/00/006141411234567890", "^00006141411234567890"),
    ("HTTPS://a/00/006141411234567890", "^00006141411234567890"),
    ("HtTp://a/b/00/006141411234567890", REFUSED),  # mixed-case scheme
    ("https://00/006141411234567890", REFUSED),  # no domain
    ("https://a/01/12312312312333", "^0112312312312333"),
    ("https://xn--fsq.xn--0zwm56d/01/12312312312333", "^0112312312312333"),  # punycode
    ("https://a./01/12312312312333", "^0112312312312333"),  # explicit FQDN
    ("https://a:65535/01/12312312312333", "^0112312312312333"),  # port
    ("https://192.0.2.1/01/12312312312333", "^0112312312312333"),
    ("https://3232235777/01/12312312312333", "^0112312312312333"),
    ("https://0300.0250.01.01/01/12312312312333", "^0112312312312333"),
    ("https://0xC0.0xA8.0x01.0x01/01/12312312312333", "^0112312312312333"),
    ("https://[2001:db8::1]/01/12312312312333", "^0112312312312333"),
    ("https://[fe80::1%25lo]/01/12312312312333", REFUSED),  # IPv6 zone identifier
    ("https://$a/006141411234567890", REFUSED),
    ("https://a$/006141411234567890", REFUSED),
    ("https://a/01/12312312312333<bad", REFUSED),
    ("https://a/01/12312312312333>bad", REFUSED),
    ("https://a/01/12312312312333{bad", REFUSED),
    ("https://a/01/12312312312333}bad", REFUSED),
    ("https://a/01/12312312312333\\bad", REFUSED),
    ("https://a/01/12312312312333^bad", REFUSED),
    ("https://a/01/12312312312333`bad", REFUSED),
    ("https://a/stem/00/006141411234567890", "^00006141411234567890"),
    ("https://a/more/stem/00/006141411234567890", "^00006141411234567890"),
    ("https://a/00/faux/00/006141411234567890", "^00006141411234567890"),  # rightmost key
    ("https://a/gtin/12312312312333", REFUSED),  # convenience alpha
    ("https://a/01/2112345678900", REFUSED),  # GTIN-13 without the flag
    ("https://a/01/416000336108", REFUSED),
    ("https://a/01/02345673", REFUSED),
    (("https://a/01/2112345678900", ZERO_SUPPRESSED), "^0102112345678900"),
    (("https://a/01/416000336108", ZERO_SUPPRESSED), "^0100416000336108"),
    (("https://a/01/02345673", ZERO_SUPPRESSED), "^0100000002345673"),
    ("https://a/01/12312312312333/22/TEST/10/ABC/21/XYZ", "^011231231231233322TEST^10ABC^21XYZ"),
    ("https://a/01/12312312312333/235/TEST", "^0112312312312333235TEST"),
    ("https://a/stem/00/006141411234567890/", REFUSED),  # ends in a slash
    ("https://a/stem/00/006141411234567890?", "^00006141411234567890"),
    ("https://a/stem/00/006141411234567890?99=ABC", "^0000614141123456789099ABC"),
    ("https://a/01/12312312312333?99=ABC&98=XYZ", "^011231231231233399ABC^98XYZ"),
    ("https://a/01/12312312312333?99=", REFUSED),  # empty value
    ("https://a/01/12312312312333?99=ABC&999=faux", REFUSED),  # numeric key that is no AI
    ("https://a/01/12312312312333?&&&99=ABC&&&&&&98=XYZ&&&", "^011231231231233399ABC^98XYZ"),
    ("https://a/01/12312312312333?99=ABC&unknown=666&98=XYZ", "^011231231231233399ABC^98XYZ"),
    ("https://a/01/12312312312333?unknown=666&99=ABC&98=XYZ", "^011231231231233399ABC^98XYZ"),
    ("https://a/01/12312312312333?99=ABC&98=XYZ&unknown=666", "^011231231231233399ABC^98XYZ"),
    (
        "https://a/01/12312312312333?unknown1=555&99=ABC&unknown2=666&98=XYZ&unknown3=777",
        "^011231231231233399ABC^98XYZ",
    ),
    ("https://a/01/12312312312333?99=ABC&singleton&98=XYZ", "^011231231231233399ABC^98XYZ"),
    ("https://a/01/12312312312333?singleton&99=ABC&98=XYZ", "^011231231231233399ABC^98XYZ"),
    ("https://a/01/12312312312333?99=ABC&98=XYZ&singleton", "^011231231231233399ABC^98XYZ"),
    ("https://a/01/12312312312333?singleton1&99=ABC&singleton2&98=XYZ&singleton3", "^011231231231233399ABC^98XYZ"),
    (
        "https://a/01/12312312312333?singleton1&unknown1=555&99=ABC&singleton2&unknown2=6666&98=XYZ&unknown3=777&singleton3",
        "^011231231231233399ABC^98XYZ",
    ),
    ("https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ%2f987", "^011231231231233322ABC-123^99ABC^98XYZ/987"),
    ("https://a/01/12312312312333/22/ABC+123?99=ABC&98=XYZ%2f987", "^011231231231233322ABC+123^99ABC^98XYZ/987"),
    ("https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ+987", REFUSED),  # "+" is a space in a query
    ("https://a/01/12312312312333/22/test/10/abc/21/xyz#", "^011231231231233322test^10abc^21xyz"),
    ("https://a/01/12312312312333/22/test/10/abc/21/xyz#fragment", "^011231231231233322test^10abc^21xyz"),
    ("https://a/stem/00/006141411234567890?99=ABC#", "^0000614141123456789099ABC"),
    ("https://a/stem/00/006141411234567890?99=ABC#fragment", "^0000614141123456789099ABC"),
    # Examples from the Digital Link specification.
    ("https://id.gs1.org/01/09520123456788", "^0109520123456788"),
    (("https://brand.example.com/01/9520123456788", ZERO_SUPPRESSED), "^0109520123456788"),
    (("https://brand.example.com/some-extra/pathinfo/01/9520123456788", ZERO_SUPPRESSED), "^0109520123456788"),
    ("https://id.gs1.org/01/09520123456788/22/2A", "^0109520123456788222A"),
    ("https://id.gs1.org/01/09520123456788/10/ABC123", "^010952012345678810ABC123"),
    ("https://id.gs1.org/01/09520123456788/21/12345", "^01095201234567882112345"),
    ("https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426", "^010952012345678810ABC1^2112345^17180426"),
    ("https://id.gs1.org/01/09520123456788?3103=000195", "^01095201234567883103000195"),
    (
        ("https://example.com/01/9520123456788?3103=000195&3922=0299&17=201225", ZERO_SUPPRESSED),
        "^0109520123456788310300019539220299^17201225",
    ),
    (
        "https://example.com/01/09520123456788?3103=000195&3922=0299&17=201225",
        "^0109520123456788310300019539220299^17201225",
    ),
    (
        "https://id.gs1.org/01/09520123456788?3103=000195&3922=0299&17=201225",
        "^0109520123456788310300019539220299^17201225",
    ),
    (
        ("https://id.gs1.org/01/9520123456788?17=201225&3103=000195&3922=0299", ZERO_SUPPRESSED),
        "^010952012345678817201225310300019539220299",
    ),
    (
        "https://id.gs1.org/01/09520123456788?17=201225&3103=000195&3922=0299",
        "^010952012345678817201225310300019539220299",
    ),
    ("https://id.gs1.org/00/952012345678912345", "^00952012345678912345"),
    (
        "https://id.gs1.org/00/952012345678912345?02=09520123456788&37=25&10=ABC123",
        "^0095201234567891234502095201234567883725^10ABC123",
    ),
    ("https://example.com/01/09520123456788?10=ABC123", REFUSED),  # a key qualifier in the query
    ("https://id.gs1.org/01/09520123456788/235/XYZ?10=ABC123", "^0109520123456788235XYZ^10ABC123"),
    ("https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&01=09520123456788", REFUSED),  # duplicate
    ("https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&10=ABC123", REFUSED),
    ("https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&99=XYZ789", REFUSED),
    ("https://example.com/01/09520123456788/89/ABC123?99=XYZ", REFUSED),  # unknown AI
    ("https://example.com/01/09520123456788?99=XYZ&89=ABC123", REFUSED),
    ("https://a/01//12312312312333", REFUSED),  # empty path element
    ("https://a/01/1231231231233%003", REFUSED),  # percent-encoded NUL in the path
    ("https://a/01/12312312312333?99=ABC%00DEF", REFUSED),  # ... and in the query
    ("https://a/01/12312312312333/10/", REFUSED),
    ("https://a/01/12312312312333/99/ABC", REFUSED),  # not a key qualifier
]


class SyntaxVectorTests(SimpleTestCase):
    def test_gs1_syntax_engine_vectors_that_apply_to_our_ais(self):
        for uri, expected in SYNTAX_VECTORS:
            uri, flag = uri if isinstance(uri, tuple) else (uri, None)
            with self.subTest(uri=uri):
                if expected is REFUSED:
                    with self.assertRaises(digital_link.MalformedLink):
                        digital_link.parse_uri(uri, zero_suppressed_gtin=flag == ZERO_SUPPRESSED)
                else:
                    link = digital_link.parse_uri(uri, zero_suppressed_gtin=flag == ZERO_SUPPRESSED)
                    self.assertEqual(link.element_string(), expected)

    def test_there_are_as_many_vectors_as_written_down(self):
        self.assertEqual(len(SYNTAX_VECTORS), 95)


class BuildAndParseTests(SimpleTestCase):
    def setUp(self):
        self.enterContext(translation.override("en"))

    def test_it_builds_and_parses_a_lot_link_with_percent_encoding(self):
        link = digital_link.build("9506000134352", lot="XJ/WAX-1")
        self.assertEqual(link.path(), "/01/09506000134352/10/XJ%2FWAX-1")
        self.assertEqual(digital_link.parse(link.path()), link)

    def test_a_value_is_percent_decoded_exactly_once(self):
        link = digital_link.parse("/01/09506000134352/10/A%252d")
        self.assertEqual(link.lot, "A%2d")
        self.assertEqual(link.path(), "/01/09506000134352/10/A%252d")

    def test_it_refuses_a_wrong_check_digit_bad_characters_and_wrong_order(self):
        for path, message in [
            ("/01/09506000134353/10/A1", "GTIN '09506000134353' has a wrong check digit."),
            ("/01/09506000134352/10/" + "A" * 21, "AI 10 must be 1 to 20 characters."),
            ("/01/09506000134352/10/%E6%9D%A8", "AI 10 has characters outside GS1's 82-character set."),
            ("/01/09506000134352/21/S1/10/A1", "Key qualifiers must appear once each, in the order 22, 10, 21"),
            ("/01/09506000134352/17/260101", "AI 17 is not a key qualifier of AI 01."),
            ("/00/095200010000000017", "AI 00 has a wrong check digit."),
            ("/01/09506000134352?17=261301", "AI 17 is not a valid date (YYMMDD)."),
            ("/01/09506000134352?10=ABC", "AI 10 is a key qualifier here: it belongs in the path"),
            ("/01/09506000134352/10/A?10=B", "AI 10 appears more than once."),
            ("/01/09506000134352?99=A%00B", "AI 99 contains a NUL character."),
            ("/01/09506000134352?4300=X", "Query parameter 4300 is not a GS1 Application Identifier we know."),
            ("/01/09506000134352?22=X", "AI 22 cannot be a data attribute in the query string."),
        ]:
            with self.subTest(path=path), self.assertRaisesMessage(digital_link.MalformedLink, message):
                path, _mark, query = path.partition("?")
                digital_link.parse(path, query)

    def test_the_element_string_and_hri_of_a_label_link(self):
        link = digital_link.build("09506000134352", lot="ABC", attributes=(("17", "260619"),))
        self.assertEqual(
            link.uri("https://trace.example.cn"), "https://trace.example.cn/01/09506000134352/10/ABC?17=260619"
        )
        self.assertEqual(link.element_string(), "^010950600013435210ABC^17260619")
        self.assertEqual(link.hri(), "(01) 09506000134352 (10) ABC (17) 260619")
        sscc = digital_link.build_sscc("095200010000000010")
        self.assertEqual((sscc.path(), sscc.hri()), ("/00/095200010000000010", "(00) 095200010000000010"))

    def test_walking_up_drops_the_last_qualifier(self):
        link = digital_link.parse("/01/09506000134352/22/V1/10/L1", "17=260619")
        self.assertEqual(link.key().path(), "/01/09506000134352/22/V1/10/L1")
        self.assertEqual(link.parent().path(), "/01/09506000134352/22/V1")
        self.assertEqual(link.parent().parent().path(), "/01/09506000134352")
        self.assertIsNone(link.parent().parent().parent())


def _sscc_vector(sscc: str) -> str:
    """A fully compressed SSCC, written bit by bit from the standard's rules (AI 00 as two 4-bit
    digits, then its 18 digits as one 60-bit integer, padded to whole base64url characters).
    GS1's JavaScript toolkit cannot make this vector: it reads 18 digits as a double."""
    bits = "00000000" + f"{int(sscc):060b}"
    bits += "0" * (-len(bits) % 6)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(alphabet[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


# Compressed Digital Links as GS1's reference toolkit (gs1/GS1DigitalLinkToolkit.js, used by the
# resolver test suite) writes them, with and without its optimisation codes, fully or partially
# compressed (the primary key kept readable): (compressed path, the uncompressed path and query).
COMPRESSION_VECTORS = [
    ("/ARFKk4XBoA", "/01/09506000134352"),
    ("/ARFKk4XBoCDmuT8sAv9tpt1p1rt9ppq", "/01/09506000134352/10/XJ-WAX-20260612-001"),
    ("/CxFKk4XBoOa5PywC_22m3WnWu32mmo", "/01/09506000134352/10/XJ-WAX-20260612-001"),
    ("/01/09506000134352/EHNcn5YBf7bTbrTrXb7TTU", "/01/09506000134352/10/XJ-WAX-20260612-001"),
    ("/ARFKk4XBoCCNV4JGLlgZRCCjA5", "/01/09506000134352/10/ABC123/21/12345?17=180426"),
    ("/GhFKk4XBoI1XgkZYGUCjA5", "/01/09506000134352/10/ABC123/21/12345?17=180426"),
    ("/01/09506000134352/EEarwSMXLAyiEFGBy", "/01/09506000134352/10/ABC123/21/12345?17=180426"),
    ("/ARFKk4XBoESEVA", "/01/09506000134352/22/2A"),
    ("/ChFKk4XBoIRU", "/01/09506000134352/22/2A"),
    ("/01/09506000134352/IkIq", "/01/09506000134352/22/2A"),
    ("/ARFKk4XBoCER41L--HwtYiZ_QI", "/01/09506000134352/10/xj%2Fwax-1?13=260612"),
    ("/CxFKk4XBoRHjUv74fC1iJn9Ag", "/01/09506000134352/10/xj%2Fwax-1?13=260612"),
    ("/HxFKk4XBoIdXh_QsYgYAGG", "/01/09506000134352/10/ABC?15=260630&3103=000195"),
    ("/01/09506000134352/EEOrwVP6FjEDAAww", "/01/09506000134352/10/ABC?15=260630&3103=000195"),
    ("/CxFKk4XBoE1XgkY", "/01/09506000134352/10/abc123"),  # lower-case hex
    ("/CxFKk4XBoQsGEvhoQ", "/01/09506000134352/10/AB%2FC%21"),  # 7-bit ASCII
    ("/ohFKk4XBoICVi5_BGQsyX2u3-I", "/01/09506000134352/21/S-12_x?3922=0299&17=260131"),
    ("/01/09506000134352/Fz-CMhZkvtdv8TkiQEr", "/01/09506000134352/21/S-12_x?17=260131&3922=0299"),
    # All digits keep their leading zeros (the toolkit prints "7": it reads the integer back).
    ("/CxFKk4XBoAYDg", "/01/09506000134352/10/007"),
    ("/" + _sscc_vector("095200010000000010"), "/00/095200010000000010"),
]


class CompressionTests(SimpleTestCase):
    def test_gs1_toolkit_vectors_decompress_to_the_uri_they_stand_for(self):
        for compressed, expected in COMPRESSION_VECTORS:
            with self.subTest(compressed=compressed):
                link, others = expand(compressed)
                checked = digital_link.parse(link.path(), link.query())
                query = checked.query()
                self.assertEqual(checked.path() + (f"?{query}" if query else ""), expected)
                self.assertEqual(others, [])

    def test_a_path_that_is_no_compressed_link_is_refused_or_not_taken_for_one(self):
        self.assertIsNone(expand("/01/09506000134352/10/A"))
        self.assertIsNone(expand("/01/09506000134352/not base64"))
        for broken in ("/ARFK", "/ZZZZZZZZZZZZ", "/ARFKk4XBoE1XgkY!"):
            with self.subTest(broken=broken), self.assertRaises(digital_link.MalformedLink):
                expand(broken)

    def test_the_sscc_vector_is_an_exact_integer(self):
        self.assertEqual(decompress(_sscc_vector("395200019999999990")), ([("00", "395200019999999990")], []))
