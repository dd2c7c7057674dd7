"""Static files in production: hashed names, gzip copies, far-future caching, no finders.
(The Swagger bundle went out as 1.6 MB uncompressed with max-age=60.)"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.test import SimpleTestCase

from tests.config.test_settings import NOT_INHERITED, PRODUCTION, ROOT

# Run in a production process: the login page's stylesheet link, then that file and the Swagger bundle.
SERVE = """
import json, re, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="trace.example.cn", secure=True)
page = client.get("/accounts/login/").content.decode()
css = re.search(r'href="(/static/css/app\\.[0-9a-f]{12}\\.css)"', page).group(1)
out = {"css": css}
for name, url in (("app", css), ("swagger", "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")):
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    out[name] = {"status": response.status_code, "cache": response.get("Cache-Control"),
                 "encoding": response.get("Content-Encoding")}
worker = client.get("/sw.js")
out["worker"] = {"status": worker.status_code,
                 "outbox": re.findall(r'/static/offline/outbox\\.[0-9a-f]{12}\\.js', worker.content.decode())[:1]}
manifest = client.get("/manifest.webmanifest")
out["manifest"] = {"status": manifest.status_code,
                   "icon": re.fullmatch(r"/static/offline/icon-192\\.[0-9a-f]{12}\\.png",
                                        json.loads(manifest.content)["icons"][0]["src"]) is not None}
print(json.dumps(out))
"""


class ProductionStaticFilesTests(SimpleTestCase):
    def test_collected_files_are_hashed_compressed_and_cached_for_ever(self):
        with tempfile.TemporaryDirectory() as static_root:
            env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
            env.update(PRODUCTION, STATIC_ROOT=static_root, DJANGO_SETTINGS_MODULE="config.settings")
            run = {"cwd": ROOT, "env": env, "capture_output": True, "text": True, "timeout": 180}
            collected = subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input"], **run)
            self.assertEqual(collected.returncode, 0, collected.stderr)
            served = subprocess.run([sys.executable, "-c", SERVE], **run)
            self.assertEqual(served.returncode, 0, served.stderr)
            out = json.loads(served.stdout)
            hashed = Path(static_root) / out["css"].removeprefix("/static/")
            self.assertTrue(hashed.exists())
            self.assertTrue(hashed.with_name(hashed.name + ".gz").exists())
        forever = "max-age=315360000, public, immutable"
        self.assertEqual(out["app"], {"status": 200, "cache": forever, "encoding": "gzip"})
        self.assertEqual(out["swagger"]["encoding"], "gzip")
        self.assertEqual(out["swagger"]["status"], 200)
        # The farmer's phone keeps its pages through the service worker: it names the hashed files
        # (it answered 500 in production, where static("") has no manifest entry).
        self.assertEqual(out["worker"]["status"], 200)
        self.assertEqual(len(out["worker"]["outbox"]), 1)
        self.assertEqual(out["manifest"], {"status": 200, "icon": True})
