"""`manage.py check --deploy`: the QR codes' address must be one a shopper's phone can open."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.http.request import split_domain_port, validate_host


@register(Tags.security, deploy=True)
def public_base_url_check(app_configs, **kwargs) -> list[Warning]:
    parts = urlsplit(settings.PUBLIC_BASE_URL)
    host = parts.hostname or ""
    problems = []
    if parts.scheme != "https":
        problems.append("it is not https")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith((".local", ".localhost", ".internal")):
            problems.append("its host is not public")
    else:
        if not address.is_global:
            problems.append("its host is not a public address")
    domain, _port = split_domain_port(parts.netloc.split("@")[-1].lower())
    if not validate_host(domain, settings.ALLOWED_HOSTS):
        problems.append("its host is not in ALLOWED_HOSTS")
    if not problems:
        return []
    return [
        Warning(
            f"PUBLIC_BASE_URL={settings.PUBLIC_BASE_URL!r}: {'; '.join(problems)}. It is printed in every QR code "
            "and on every label, for ever.",
            hint="Set PUBLIC_BASE_URL to the short public https address of the site, e.g. https://trace.example.cn",
            id="shipments.W001",
        )
    ]
