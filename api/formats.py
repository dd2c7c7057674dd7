"""How the API reads and writes bodies, beyond DRF's defaults.

- JSONParser: JSON nested too deep for Python's parser (a thousand `[`) raised RecursionError,
  which DRF does not catch: a 500 from any JSON endpoint. It is a 400 like any malformed body.
- BrowsableAPIRenderer: DRF's HTML pages carry inline style attributes, which the site's
  Content-Security-Policy refuses; these pages (and only they) may use inline styles, never
  inline scripts.
"""

from csp.constants import SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers, renderers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the document is nested too deeply."))


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = {"style-src": [SELF, UNSAFE_INLINE]}  # read by django-csp's middleware
        return super().render(data, accepted_media_type, renderer_context)
