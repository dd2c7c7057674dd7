"""Coarse reading of a User-Agent header: which kind of client scanned, and whether a person did.

Framework-free and deliberately coarse: the scan record keeps a client family, never the header.
"""

# Link-preview fetchers and crawlers, as lowercase substrings. A chat app that unfurls a shared
# link fetches the page once per conversation, which is not a shopper reading it. WeChat's own
# unfurler does not announce a stable name; the in-app browser always carries "MicroMessenger",
# so a "WeChat" token without it is treated as a fetcher. Plain substring tests: this runs on
# every scan, and one case-insensitive regex of these alternatives costs ten times more.
_BOT_TOKENS = (
    "bot",
    "spider",
    "crawl",
    "preview",
    "slurp",
    "facebookexternalhit",
    "facebookcatalog",
    "whatsapp",
    "telegram",
    "twitter",
    "slack",
    "discord",
    "skype",
    "embedly",
    "quora link",
    "pinterest",
    "vkshare",
    "w3c_validator",
    "headless",
    "lighthouse",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "okhttp",
    "java/",
    "libwww",
    "wget",
    "curl/",
)


def is_bot(user_agent: str) -> bool:
    """True for link-preview fetchers, crawlers and scripted clients."""
    ua = user_agent.lower()
    if any(token in ua for token in _BOT_TOKENS):
        return True
    return "wechat" in ua and "micromessenger" not in ua


def client_family(user_agent: str) -> str:
    """One of the Scan.Client values: wechat, alipay, ios, android, desktop, other."""
    ua = user_agent.lower()
    if "micromessenger" in ua:
        return "wechat"
    if "alipayclient" in ua or "alipay" in ua:
        return "alipay"
    if "iphone" in ua or "ipad" in ua or "ipod" in ua:
        return "ios"
    if "android" in ua:
        return "android"
    if "windows" in ua or "macintosh" in ua or "x11" in ua or "cros" in ua:
        return "desktop"
    return "other"
