"""GS1's resolver test suite, ported: the checks of the public repository
gs1/GS1DL-resolver-testsuite (GS1DigitalLinkResolverTestSuite.js with its helper tester.php, which
makes the HTTP requests with an `Origin` header and without following redirects), run against a
lot-level, a GTIN-level and an SSCC Digital Link URI of ours through Django's test client.

Each check keeps the suite's id and asserts what the suite counts as a pass; "warn" checks (a
SHOULD) are asserted as passes too. Not ported, as they test the deployment rather than the
application: `isHttps` and `tlsOK` (TLS is the front proxy's; the test server speaks http) and
`httpVersion`. `linkTypesDefined` needs GS1's live list of ratified link types; the link types we
serve (defaultLink, pip, traceability, recipeInfo, certificationInfo, recallStatus) are all on it.
"""

import json
import re
from decimal import Decimal

import jsonschema
from django.test import TestCase

from shipments import services
from shipments.models import Retailer, Store
from tests.shipments.gs1_schemas import DESCRIPTION_FILE_SCHEMA, LINKSET_SCHEMA
from tests.support import make_batch, make_crop, make_farm, make_village
from traceability import digital_link

GTIN = "09506000134352"
BASE = "http://127.0.0.1:8000"
ORIGIN = "https://ref.gs1.org/test-suites/resolver/"
# The suite's "RE2": a plausible uncompressed Digital Link URI without convenience alphas.
PLAUSIBLE = re.compile(
    r"^https?:(\/\/((([^\/?#]*)@)?([^\/?#:]*)(:([^\/?#]*))?))?([^?#]*)(((\/(01|8006|8013|8010|414|417|8017|8018|255|00|253"
    r"|401|402|8003|8004)\/)(\d{4}[^\/]+)(\/[^/]+\/[^/]+)?[/]?(\?([^?\n]*))?(#([^\n]*))?))",
    re.IGNORECASE,
)
NAMESPACE = re.compile(r"https://((ref\.)|(www\.))?gs1\.org/voc/", re.IGNORECASE)


class ResolverTestSuite(TestCase):
    @classmethod
    def setUpTestData(cls):
        village = make_village()
        crop = make_crop(gtin=GTIN)
        batch = make_batch(make_farm(village), crop, "XJ-WAX-20260612-001")
        retailer = Retailer.objects.create(name_zh="鲜到家超市", gs1_company_prefix="9520001")
        store = Store.objects.create(retailer=retailer, name_zh="上海静安店", city_zh="上海")
        cls.shipment = services.create_shipment(origin_village=village, store=store)
        services.add_item(shipment=cls.shipment, batch=batch, quantity=Decimal("5"))
        cls.uris = [
            f"{BASE}/01/{GTIN}/10/XJ-WAX-20260612-001",
            f"{BASE}/01/{GTIN}",
            f"{BASE}/00/{cls.shipment.sscc}",
        ]

    def get(self, uri: str, **headers):
        return self.client.get(uri.removeprefix(BASE), HTTP_ORIGIN=ORIGIN, **headers)

    def test_every_check_passes_for_a_lot_a_gtin_and_an_sscc(self):
        for uri in self.uris:
            for check in (
                self.check_valid_dl,
                self.check_basic_walk_up,
                self.check_rd_file,
                self.check_cors_methods_and_link_headers,
                self.check_errors_are_400_not_200,
                self.check_trailing_slash,
                self.check_query_passed_on,
                self.check_linkset_without_redirect,
                self.check_the_linkset,
                self.check_specific_link_type_not_found,
            ):
                with self.subTest(uri=uri, check=check.__name__):
                    check(uri)

    # isURL, plausibleDL, validDL
    def check_valid_dl(self, uri):
        self.assertRegex(uri, PLAUSIBLE)
        link = digital_link.parse_uri(uri)
        if link.gtin:
            self.assertIn(f"/01/{link.gtin}", uri)  # a GTIN given as 14 digits

    # basicWalkUp: an unknown lot of the GTIN is no 404
    def check_basic_walk_up(self, uri):
        link = digital_link.parse_uri(uri)
        if link.gtin:
            self.assertNotEqual(self.get(f"{BASE}/01/{link.gtin}/10/KL8G").status_code, 404)

    # rdFile
    def check_rd_file(self, uri):
        response = self.get(f"{BASE}/.well-known/gs1resolver", HTTP_ACCEPT="application/json")
        jsonschema.validate(response.json(), DESCRIPTION_FILE_SCHEMA)

    # corsCheck, methodsCheck, linkOnRedirect, legacyLinkHeaders (all read from the OPTIONS answer)
    def check_cors_methods_and_link_headers(self, uri):
        response = self.client.options(
            uri.removeprefix(BASE), HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET,HEAD,OPTIONS"
        )
        self.assertEqual(response["Access-Control-Allow-Origin"], "*")
        for method in ("GET", "HEAD", "OPTIONS"):
            self.assertIn(method, response["Access-Control-Allow-Methods"])
        links = response["Link"].split('",')
        self.assertTrue(any('rel="linkset"' in link for link in links))
        self.assertFalse(any('rel="gs1:' in link for link in links))
        redirect = self.get(uri)
        self.assertIn('rel="linkset"', redirect["Link"])

    # reportWith400, noErrorWith200
    def check_errors_are_400_not_200(self, uri):
        self.assertEqual(self.get(uri + "/foo").status_code, 400)

    # trailingSlash
    def check_trailing_slash(self, uri):
        plain, slashed = self.get(uri), self.get(uri + "/")
        self.assertEqual((plain.status_code, plain.get("Location")), (slashed.status_code, slashed.get("Location")))

    # qsPassedOn
    def check_query_passed_on(self, uri):
        self.assertIn("foo=bar", self.get(uri + "?foo=bar")["Location"])

    # ltLinksetNoRedirect, ltAcceptHeader
    def check_linkset_without_redirect(self, uri):
        self.assertEqual(self.get(uri + "?linkType=linkset").status_code, 200)
        self.assertEqual(self.get(uri + "?linkType=all", HTTP_ACCEPT="application/linkset+json").status_code, 200)

    # validLinkset, linksetJsonldCheck, declaredContentType, then linksetTests: defaultLinkExists,
    # singleDefaulLink, defaultTarget and a redirect for every link type of the most granular level
    def check_the_linkset(self, uri):
        response = self.get(uri, HTTP_ACCEPT="application/linkset+json")
        linkset = response.json()
        jsonschema.validate(linkset, LINKSET_SCHEMA)
        self.assertTrue(
            any(
                'rel="http://www.w3.org/ns/json-ld#context"' in link and 'type="application/ld+json"' in link
                for link in response["Link"].split(",")
            )
        )
        self.assertTrue(response["Content-Type"].startswith("application/linkset+json"))
        working = json.loads(NAMESPACE.sub("gs1:", json.dumps(linkset)))
        current, seen, defaults = uri, set(), 0
        while current.count("/") >= 4:  # walk up the tree, two path segments at a time
            for level in working["linkset"]:
                if level["anchor"] != current:
                    continue
                for link_type, links in level.items():
                    if link_type in ("anchor", "itemDescription", "description") or link_type in seen:
                        continue
                    seen.add(link_type)
                    self.assertEqual(len(links), 1, link_type)
                    if link_type == "gs1:defaultLink":
                        defaults += 1
                        self.assertEqual(self.get(uri)["Location"], links[0]["href"])
                    else:
                        self.assertEqual(self.get(f"{uri}?linkType={link_type}")["Location"], links[0]["href"])
            current = current.rsplit("/", 2)[0]
        self.assertEqual(defaults, 1)

    # specificLinkTypeNotFound
    def check_specific_link_type_not_found(self, uri):
        self.assertEqual(self.get(uri + "?linkType=gs1:nosuchlt").status_code, 404)
