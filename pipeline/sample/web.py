"""The routes of the sample web: which page lives at which URL, and how it is answered.

The web lives on made-up ``.test`` hosts that the fetch stage maps to 127.0.0.1 (like
``curl --resolve``). Besides good articles it holds every case a crawler must survive:
duplicates at several distances, foreign languages, encyclopedia copies, spam, thin
pages, dead links, redirect chains and loops, robots.txt rules, binary bodies, a
page whose bytes contradict its declared charset, and a press agency that opts out of AI
training every way a site can (an AI crawler's robots.txt group, TDMRep's site file and
header, robots ``noai``).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

from pipeline.sample import site
from pipeline.sample.corpus import ARTICLES, Article
from pipeline.sample.evalset import quoting

SEED = 20190101
UTF8_HTML = "text/html; charset=utf-8"


@dataclasses.dataclass(slots=True)
class Route:
    """One URL of the sample web and how the loopback server answers it."""

    host: str
    path: str
    status: int = 200
    body: bytes | None = None
    content_type: str = UTF8_HTML
    location: str | None = None
    karma: tuple[int, ...] = (5,)  # one submission per entry, all in the window
    role: str = "article"
    headers: tuple[tuple[str, str], ...] = ()  # more response headers (a site's opt-out)

    @property
    def url(self) -> str:
        return f"http://{self.host}{self.path}"


def _by_kind(kind: str) -> list[Article]:
    return [article for article in ARTICLES if article.kind == kind]


def _date(index: int) -> str:
    return (datetime(2019, 1, 3, tzinfo=UTC) + timedelta(days=index * 2)).strftime("%Y-%m-%d")


def _edit_words(article: Article, every: int, rng: random.Random) -> Article:
    """A copy with every ``every``-th word replaced: near duplicates at a chosen distance."""
    replacements = ("remarkable", "quietly", "harbour", "seven", "lantern", "meanwhile", "copper")
    paragraphs = []
    counter = 0
    for paragraph in article.paragraphs:
        words = paragraph.split()
        for position in range(len(words)):
            counter += 1
            if counter % every == 0:
                words[position] = rng.choice(replacements)
        paragraphs.append(" ".join(words))
    return dataclasses.replace(article, paragraphs=tuple(paragraphs))


def _html(text: str) -> bytes:
    return text.encode("utf-8")


def _content_routes(rng: random.Random) -> list[Route]:
    """Good articles, foreign pages, encyclopedia entries, spam and thin pages."""
    english, routes = _by_kind("article"), []
    for index, article in enumerate(english[:8]):
        date = _date(index)
        page = site.news_page(article, "The Daily Webtext", date, rng)
        routes.append(Route("news.webtext.test", f"/{date.replace('-', '/')}/{article.slug}", body=_html(page)))
    for index, article in enumerate(english[8:]):
        post = quoting(article) if index == 0 else article  # a post that quotes the sample's eval set
        page = site.blog_page(post, "Notes from the Workshop", _date(index), rng)
        routes.append(Route("blog.webtext.test", f"/posts/{article.slug}", body=_html(page), karma=(2, 2)))
    for index, article in enumerate(_by_kind("foreign")):
        page = site.news_page(article, "World Webtext", _date(index), rng)
        routes.append(
            Route("world.webtext.test", f"/{article.language}/{article.slug}", body=_html(page), role="foreign")
        )
    for article in _by_kind("wikipedia"):
        page = site.wiki_page(article, "Wikipedia")
        path = "/wiki/" + article.title.replace(" ", "_")
        routes.append(Route("en.wikipedia.test", path, body=_html(page), karma=(40,), role="wikipedia"))
    for index, article in enumerate(_by_kind("spam")):
        karma = (4,) if index < 2 else (1, 1)  # two spam pages were upvoted, two were not
        routes.append(
            Route(
                "spam.webtext.test",
                f"/offer/{article.slug}",
                body=_html(site.spam_page(article, rng)),
                karma=karma,
                role="spam",
            )
        )
    for article in _by_kind("thin"):
        routes.append(
            Route(
                "blog.webtext.test",
                f"/gallery/{article.slug}",
                body=_html(site.thin_page(article)),
                karma=(3,),
                role="thin",
            )
        )
    return routes


def _duplicate_routes(rng: random.Random) -> list[Route]:
    """Copies of earlier pages in other templates: exact, near (above 0.8 Jaccard) and far."""
    english, wikipedia = _by_kind("article"), _by_kind("wikipedia")
    return [
        Route(
            "mirror.webtext.test",
            f"/copy/{english[0].slug}",
            role="exact_duplicate",
            body=_html(site.blog_page(english[0], "Mirror Mirror", _date(0), rng)),
        ),
        Route(
            "mirror.webtext.test",
            f"/near/{english[1].slug}",
            role="near_duplicate",
            body=_html(site.blog_page(_edit_words(english[1], 120, rng), "Mirror Mirror", _date(1), rng)),
        ),
        Route(
            "mirror.webtext.test",
            f"/rewrite/{english[2].slug}",
            role="far_duplicate",
            body=_html(site.blog_page(_edit_words(english[2], 4, rng), "Mirror Mirror", _date(2), rng)),
        ),
        Route(
            "mirror.webtext.test",
            "/wiki-copy/" + wikipedia[0].slug,
            role="wikipedia_copy",
            body=_html(site.news_page(wikipedia[0], "Mirror Mirror", _date(3), rng)),
        ),
    ]


def _awkward_routes(rng: random.Random, first_article: Route) -> list[Route]:
    """Dead links, redirects, robots-disallowed, binary, mislabelled charset, non-HTML."""
    french = next(article for article in _by_kind("foreign") if article.language == "fr")
    lying_charset = site.news_page(french, "World Webtext", _date(5), rng)  # declares utf-8, sent as cp1252
    return [
        Route("news.webtext.test", "/2019/01/02/deleted-story", status=404, body=b"Not Found", role="dead"),
        Route("news.webtext.test", "/2019/01/04/withdrawn", status=410, body=b"Gone", role="dead"),
        Route("blog.webtext.test", "/posts/server-trouble", status=500, body=b"Internal Server Error", role="dead"),
        Route("closed.webtext.test", "/article/1", status=0, role="refused"),
        Route("short.webtext.test", "/x7Kq2", status=302, location=first_article.url, role="redirect"),
        Route(
            "news.webtext.test",
            "/old/" + first_article.path.rsplit("/", 1)[-1],
            status=301,
            location="http://short.webtext.test/x7Kq2",
            role="redirect_chain",
        ),
        Route(
            "news.webtext.test", "/loop/a", status=302, location="http://news.webtext.test/loop/b", role="redirect_loop"
        ),
        Route(
            "news.webtext.test", "/loop/b", status=302, location="http://news.webtext.test/loop/a", role="redirect_loop"
        ),
        Route(
            "news.webtext.test",
            "/private/members-only",
            body=_html(site.thin_page(_by_kind("thin")[0])),
            role="robots_disallowed",
        ),
        Route("blog.webtext.test", "/download/report", body=site.binary_garbage(rng), role="binary_as_html"),
        Route(
            "world.webtext.test",
            "/fr/velo-cp1252",
            body=lying_charset.encode("cp1252"),
            content_type=UTF8_HTML,
            role="wrong_charset",
        ),
        Route(
            "blog.webtext.test",
            "/notes.txt",
            body="\n\n".join(_by_kind("article")[9].paragraphs).encode(),
            content_type="text/plain; charset=utf-8",
            role="plain_text",
        ),
        Route(
            "blog.webtext.test",
            "/files/manual.pdf",
            body=b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
            role="not_html",
            content_type="application/pdf",
        ),
    ]


PRESS = "press.webtext.test"
# Roles of the press agency's pages: the opt-out each one carries, and what becomes of it.
OPTOUT_ROLES = ("robots_ai_optout", "tdm_reserved_by_site_file", "tdm_reserved_by_header", "robots_noai")
TDMREP_FILES = {
    PRESS: '[{"location": "/licensed/", "tdm-reservation": 1, "tdm-policy": "http://press.webtext.test/tdm-policy"}]\n'
}


def _optout_routes() -> list[Route]:
    """The press agency's stories: sample articles again, each under one opt-out, so none becomes a document."""
    rng = random.Random(SEED + 4)  # its own: the routes and dumps before it keep their bytes
    stories = _by_kind("article")[10:14]
    pages = [
        site.news_page(article, "Webtext Press Agency", _date(index), rng) for index, article in enumerate(stories)
    ]
    noai = pages[3].replace("<head>", '<head>\n<meta name="robots" content="index, follow, noai, noimageai">', 1)
    return [
        Route(PRESS, f"/wire/{stories[0].slug}", body=_html(pages[0]), role=OPTOUT_ROLES[0]),
        Route(PRESS, f"/licensed/{stories[1].slug}", body=_html(pages[1]), role=OPTOUT_ROLES[1]),
        Route(
            PRESS,
            f"/features/{stories[2].slug}",
            body=_html(pages[2]),
            headers=(("TDM-Reservation", "1"),),
            role=OPTOUT_ROLES[2],
        ),
        Route(PRESS, f"/opinion/{stories[3].slug}", body=_html(noai), role=OPTOUT_ROLES[3]),
    ]


ROBOTS = {
    PRESS: "User-agent: GPTBot\nDisallow: /wire/\n\nUser-agent: *\nAllow: /\n",
    "news.webtext.test": "User-agent: *\nDisallow: /private/\nCrawl-delay: 0\n",
    "spam.webtext.test": "User-agent: *\nDisallow:\n",
    "world.webtext.test": "User-agent: BadBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
}


def build_routes() -> list[Route]:
    """Every route of the sample web, in a fixed order."""
    rng = random.Random(SEED)
    content = _content_routes(rng)
    return content + _duplicate_routes(rng) + _awkward_routes(rng, content[0]) + _optout_routes()
