"""Canonical article URLs: the dedup key."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import safe_url_string

# Query parameters that identify a campaign or a click, never the article.
_TRACKING_EXACT = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "cmpid",
        "ncid",
        "ocid",
        "smid",
        "smtyp",
        "soc_src",
        "soc_trk",
        "sr_share",
        "ito",
        "mbid",
        "s_cid",
        "spm",
        "rss",
        "feedtype",
        "src",
        "ref_src",
        "ref_url",
        "cid",
        "icid",
        "intcmp",
        "share",
        "via",
        "tpcc",
        "traffic_source",
        "sh",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "__twitter_impression",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "at_", "oly_", "sc_", "nr_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# A host as RFC 3986 allows it (registered name, IPv4), lowercased and IDNA-encoded by now.
_HOST = re.compile(r"[a-z0-9\-._~%!$&'()*+,;=]+")
_IPV6 = re.compile(r"[0-9a-f:.]*:[0-9a-f:.]*")


def is_tracking_param(name: str) -> bool:
    """True for query parameters that only track a click or campaign."""
    low = name.lower()
    return low in _TRACKING_EXACT or low.startswith(_TRACKING_PREFIXES)


def canonicalize_url(url: str | None, base: str | None = None) -> str | None:
    """Absolute http(s) URL without tracking parameters or fragment.

    ``url`` may be relative to ``base``. Scheme and host are lowercased, a default port is
    dropped, non-ASCII is percent-encoded, other query parameters keep their order.
    Returns None for empty input and for any scheme other than http/https
    (``javascript:``, ``mailto:``, ``data:``...).
    """
    if not url:
        return None
    url = url.strip()
    if not url:
        return None
    try:
        return _canonicalize(url, base)
    except ValueError:  # "http://[", "http://x:99999/", "http://x:abc/": no usable URL
        return None


def _canonicalize(url: str, base: str | None) -> str | None:
    if base:
        url = urljoin(base, url)
    elif url.startswith("//"):
        url = "https:" + url
    if not _SCHEME.match(url):
        return None
    parts = urlsplit(safe_url_string(url))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in _DEFAULT_PORTS or not (_HOST.fullmatch(host) or _IPV6.fullmatch(host)):
        # No scheme we fetch, or no usable host: "http://./" gave "http:///", and w3lib
        # passes spaces and controls through ("http:// 0/", "http://\x7f/").
        return None
    if ":" in host:
        host = f"[{host}]"  # IPv6 keeps its brackets ("http://::1/" is no URL)
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not is_tracking_param(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept, doseq=False)
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, query, ""))


def domain_of(url: str) -> str:
    """Lowercase host of ``url`` without a leading ``www.``; empty string if none."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # "http://[": an unbalanced IPv6 bracket
        return ""
    return host[4:] if host.startswith("www.") else host
