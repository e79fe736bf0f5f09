"""HTML pages of the sample web site, built from the original texts in ``corpus``.

Each template wraps the article in the boilerplate a real crawl meets (navigation, cookie
banners, related stories, reader comments, footers) so the extractor has something to
remove. Some pages are deliberately broken: unclosed tags, a body with no ``<html>``
wrapper, a charset declaration that lies about the bytes.
"""

from __future__ import annotations

import html
import random

from pipeline.sample.corpus import COMMENTS, COOKIE_BANNERS, FOOTERS, NAV_LINKS, RELATED_HEADLINES, Article


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _nav() -> str:
    links = "".join(
        f'<li><a href="/{label.lower().replace(" ", "-")}">{_escape(label)}</a></li>' for label in NAV_LINKS
    )
    return f'<nav class="site-nav"><ul>{links}</ul></nav>'


def _cookie_banner(rng: random.Random) -> str:
    text = rng.choice(COOKIE_BANNERS)
    return f'<div id="cookie-consent" class="banner"><p>{_escape(text)}</p><button>Accept all</button></div>'


def _related(rng: random.Random) -> str:
    items = "".join(
        f'<li><a href="/related/{index}">{_escape(headline)}</a></li>'
        for index, headline in enumerate(rng.sample(RELATED_HEADLINES, 4))
    )
    return f'<aside class="related"><h3>Related stories</h3><ul>{items}</ul></aside>'


def _comments(rng: random.Random, count: int = 5) -> str:
    items = "".join(
        f'<li class="comment"><span class="user">reader{rng.randrange(1000)}</span><p>{_escape(comment)}</p></li>'
        for comment in rng.sample(COMMENTS, count)
    )
    return f'<section id="comments"><h3>{count} comments</h3><ol>{items}</ol></section>'


def _footer(rng: random.Random) -> str:
    return f'<footer class="site-footer"><p>{_escape(rng.choice(FOOTERS))}</p></footer>'


def _paragraphs(paragraphs: tuple[str, ...] | list[str]) -> str:
    return "\n".join(f"<p>{_escape(paragraph)}</p>" for paragraph in paragraphs)


def news_page(article: Article, site_name: str, published: str, rng: random.Random) -> str:
    """A news-site article: nav, cookie banner, byline, body, related stories, comments, footer."""
    return f"""<!DOCTYPE html>
<html lang="{article.language}">
<head>
<meta charset="utf-8">
<title>{_escape(article.title)} | {_escape(site_name)}</title>
<meta name="description" content="{_escape(article.paragraphs[0][:150])}">
<meta property="article:published_time" content="{published}">
<script>window.dataLayer = window.dataLayer || []; function track(e) {{ dataLayer.push(e); }}</script>
<style>body {{ font-family: serif; }} .banner {{ position: fixed; bottom: 0; }}</style>
</head>
<body>
{_cookie_banner(rng)}
<header><a class="logo" href="/">{_escape(site_name)}</a>{_nav()}</header>
<main>
<article>
<h1>{_escape(article.title)}</h1>
<p class="byline">By Staff Writer &middot; <time datetime="{published}">{published}</time></p>
{_paragraphs(article.paragraphs)}
</article>
{_related(rng)}
{_comments(rng)}
</main>
{_footer(rng)}
</body>
</html>
"""


def blog_page(article: Article, site_name: str, published: str, rng: random.Random) -> str:
    """A personal blog post with a sidebar and share buttons; some tags deliberately left open."""
    share = "".join(f'<a class="share" href="#">{network}</a>' for network in ("Share", "Tweet", "Pin it"))
    body = "\n".join(f"<p>{_escape(paragraph)}" for paragraph in article.paragraphs)  # unclosed <p>
    return f"""<html><head><title>{_escape(article.title)} - {_escape(site_name)}</title>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>
<body><div id="wrapper"><div id="sidebar"><h4>Archives</h4><ul><li>January<li>February<li>March</ul>
<h4>Tags</h4><div class="tags">garden, books, travel, repairs, notes</div></div>
<div class="post"><h2 class="entry-title">{_escape(article.title)}</h2>
<div class="entry-meta">Posted on {published} by the author</div>
<div class="entry-content">
{body}
</div><div class="share-bar">{share}</div>
{_comments(rng)}
</div>
{_footer(rng)}
</body></html>
"""


def wiki_page(article: Article, site_name: str) -> str:
    """An encyclopedia entry laid out like Wikipedia: lead, sections as headings, sidebar."""
    parts = []
    for paragraph in article.paragraphs:
        is_heading = len(paragraph.split()) <= 3 and not paragraph.endswith(".")
        parts.append(f"<h2>{_escape(paragraph)}</h2>" if is_heading else f"<p>{_escape(paragraph)}</p>")
    body = "\n".join(parts)
    return f"""<!DOCTYPE html>
<html lang="en" class="client-nojs"><head><meta charset="UTF-8">
<title>{_escape(article.title)} - {site_name}</title></head>
<body class="mediawiki">
<div id="mw-navigation"><a href="/wiki/Main_Page">Main page</a> <a href="/wiki/Special:Random">Random article</a></div>
<div id="content"><h1 id="firstHeading">{_escape(article.title)}</h1>
<div id="siteSub">From {site_name}, the free encyclopedia</div>
<div id="mw-content-text">{body}</div>
<div id="catlinks">Categories: Articles with short description</div></div>
<div id="footer">Text is available under the Creative Commons Attribution-ShareAlike License.</div>
</body></html>
"""


def spam_page(article: Article, rng: random.Random) -> str:
    """Keyword-stuffed spam with hidden text, pop-up script and a wall of links."""
    links = " ".join(f'<a href="/go/{index}">best deal {index}</a>' for index in range(30))
    return f"""<html><head><title>{_escape(article.title)}</title>
<meta name="keywords" content="{_escape(article.title.lower())}, cheap, best, free, online, deal"></head>
<body onload="popup()"><script>function popup() {{ alert('WINNER!'); }}</script>
<div class="content"><h1>{_escape(article.title.upper())}</h1>
{_paragraphs(article.paragraphs)}
<div style="display:none">{_escape(" ".join(article.paragraphs[:1]) * 3)}</div>
</div><div class="links">{links}</div>
</body></html>
"""


def thin_page(article: Article) -> str:
    """A page with almost no text: what an extractor should give up on."""
    return f"""<!DOCTYPE html><html><head><title>{_escape(article.title)}</title></head>
<body><div class="gallery"><img src="/img/1.jpg" alt=""><img src="/img/2.jpg" alt=""></div>
<p>{_escape(article.paragraphs[0])}</p></body></html>
"""


def binary_garbage(rng: random.Random, size: int = 4096) -> bytes:
    """Bytes that are not text at all, for a page served as text/html by a broken server."""
    return bytes(rng.randrange(256) for _ in range(size))
