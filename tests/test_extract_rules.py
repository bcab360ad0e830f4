"""The generic extractor's rules, one small page each (what each rule is for)."""

from __future__ import annotations

from datetime import datetime, timezone

from aggregator.extract import GenericExtractor, extract_article
from aggregator.items import ArticleItem

URL = "https://news.example/2022/06/06/story/"
PARA = (
    "Netflix confirmed on Monday that the zombie series will return for a second season, "
    "after the first became one of its most watched non-English shows, the company said."
)


def page(body: str, head: str = "", title: str = "A Headline About the Story") -> str:
    return (
        f"<html lang='en'><head><title>{title} | Example News</title>"
        f"<meta property='og:site_name' content='Example News'>{head}</head>"
        f"<body><header><nav><a href='/'>Home</a><a href='/tv/'>TV</a></nav></header>"
        f"<article><h1>{title}</h1>{body}</article>"
        f"<footer><p>Copyright Example News</p></footer></body></html>"
    )


def extract(html: str) -> ArticleItem:
    """The generic extractor's item for a test page."""
    return extract_article(html, URL, extractor=GenericExtractor)


def body_of(html: str) -> list[str]:
    return (extract(html).body or "").split("\n\n")


def assert_dropped(junk: str, *, first: bool = False) -> None:
    """``junk`` between (or, with ``first``, before) two paragraphs leaves only them."""
    inner = f"{junk}<p>{PARA}</p>" if first else f"<p>{PARA}</p>{junk}"
    html = page(f"<div class='content'>{inner}<p>{PARA} Second.</p></div>")
    assert body_of(html) == [PARA, PARA + " Second."]


def test_related_teaser_card_inside_body_is_dropped() -> None:
    html = page(
        f"<div class='content'><p>{PARA}</p>"
        "<div class='card'><div class='label'>Related</div><h5><a href='/x/'>Other story</a></h5>"
        "<p>A teaser excerpt that is not part of this article.</p></div>"
        f"<p>{PARA} Second.</p></div>"
    )
    assert body_of(html) == [PARA, PARA + " Second."]


def test_related_label_before_real_prose_keeps_the_prose() -> None:
    html = page(
        f"<div class='content'><p>{PARA}</p></div><div class='content'>"
        "<p><strong>RELATED:</strong> <a href='/r/'>A related headline</a></p>"
        f"<p>{PARA} After.</p></div>"
    )
    assert body_of(html) == [PARA, PARA + " After."]


def test_consent_dialog_is_never_the_article() -> None:
    notice = " ".join(["We and our partners use cookies to personalise content."] * 30)
    html = page(f"<p>{PARA}</p><p>{PARA} Two.</p>") .replace(
        "</body>", f"<div id='onetrust-consent-sdk'><div class='ot-main'><p>{notice}</p>"
        f"<p>{notice}</p></div></div></body>"
    )  # fmt: skip
    assert body_of(html) == [PARA, PARA + " Two."]


def test_two_click_embed_placeholder_is_dropped() -> None:
    placeholder = (
        "<div class='box embed'><div class='info-box'><p>Empfohlener redaktioneller Inhalt</p>"
        "<p>An dieser Stelle findest du einen externen Inhalt von YouTube, der den Artikel "
        "ergänzt.</p><input type='checkbox' id='t'><label for='t'>Erlauben</label>"
        "<p class='info'>Ich bin damit einverstanden, dass mir Inhalte von YouTube angezeigt "
        "werden. Mehr dazu in unserer <a href='/datenschutz/'>Datenschutzerklärung</a>.</p>"
        "</div></div>"
    )
    assert_dropped(placeholder)


def test_blocks_hidden_by_a_utility_class_are_dropped() -> None:
    promo = (
        "<div class='article-block hidden'><p>THIS CONTENT IS RESERVED FOR SUBSCRIBERS ONLY. "
        "Subscribe now to read the latest news in your city and across the country.</p></div>"
        "<div class='subscriber d-none'><p>Our website is your destination for news, so make "
        "sure to bookmark our homepage and sign up for our newsletters.</p></div>"
    )
    assert_dropped(promo)
    # A hidden block holding a whole article (a paywalled body kept for search engines) stays.
    paywalled = "".join(f"<p>{PARA} {i}.</p>" for i in range(8))
    html = page(f"<div class='content'><div class='hidden'>{paywalled}</div></div>")
    assert len(body_of(html)) == 8


def test_reading_time_dateline_and_affiliate_notice_are_dropped() -> None:
    furniture = (
        "<p>3 Min Lesezeit</p><p>Reading time: 4 minutes</p><p>Freitag, 28.04.2023, 19:25</p>"
        "<p>Die mit einem Symbol gekennzeichneten Links sind Affiliate-Links. Kommt darüber ein "
        "Einkauf zustande, erhalten wir eine Provision ohne Mehrkosten für Sie.</p>"
        "<p>When you buy through links on our site, we may earn an affiliate commission.</p>"
    )
    assert_dropped(furniture, first=True)
    # Prose that mentions minutes or commissions stays.
    prose = "The commission said the 3 minute delay was an affiliate station's fault, he said."
    html = page(f"<div class='content'><p>{PARA}</p><p>{prose} {PARA}</p></div>")
    assert body_of(html) == [PARA, f"{prose} {PARA}"]


def test_single_child_wrappers_are_looked_through() -> None:
    wrapped = "".join(
        f"<div class='w1'><div class='w2'><div class='w3'><p>{PARA} {i}</p></div></div></div>"
        for i in range(6)
    )
    assert len(body_of(page(f"<div id='main'>{wrapped}</div>"))) == 6


def test_hidden_paywalled_body_is_kept() -> None:
    paras = "".join(f"<p>{PARA} Part {i}.</p>" for i in range(8))
    html = page(f"<p>{PARA}</p><div class='paywall' hidden>{paras}</div>")
    assert len(body_of(html)) == 9


def test_embedded_tweet_text_stays_and_captions_go() -> None:
    html = page(
        f"<p>{PARA}</p><figure><img src='a.jpg'><figcaption>The cast. Photo: Netflix"
        "</figcaption></figure><blockquote class='twitter-tweet'><p>Season 2 is happening!"
        f"</p>&mdash; Netflix (@netflix)</blockquote><p>{PARA} End.</p>"
    )
    assert body_of(html) == [PARA, "Season 2 is happening!", "— Netflix (@netflix)",
                             PARA + " End."]  # fmt: skip


def test_dek_only_when_the_page_shows_one() -> None:
    desc = "<meta property='og:description' content='An SEO summary nobody sees on the page.'>"
    no_dek = extract(page(f"<p>{PARA}</p>", desc))
    assert no_dek.subtitle is None
    shown = page(f"<p class='post-header__subtitle'>What the season will bring.</p><p>{PARA}</p>")
    assert extract_article(shown, URL).subtitle == "What the season will bring."
    lede = page(f"<p>{PARA}</p>", f"<meta name='description' content='{PARA}'>")
    assert extract_article(lede, URL).subtitle is None  # the description is the lede


def test_byline_as_first_body_line() -> None:
    html = page(f"<p><strong>Jane Doe/John Roe</strong></p><p>{PARA}</p><p>{PARA} Two.</p>")
    item = extract(html)
    assert item.authors == ["Jane Doe", "John Roe"]
    assert item.body == f"{PARA}\n\n{PARA} Two."


def test_byline_line_after_a_dek_set_in_the_body() -> None:
    html = page(
        "<p><em>...as communities cry foul over lost livelihoods</em></p>"
        f"<p><strong>Jane Doe/John Roe</strong></p><p>{PARA}</p><p>{PARA} Two.</p>"
    )
    item = extract(html)
    assert item.authors == ["Jane Doe", "John Roe"]
    assert item.body == f"...as communities cry foul over lost livelihoods\n\n{PARA}\n\n{PARA} Two."


def test_caption_naming_the_subject_is_not_a_byline() -> None:
    html = page(
        f"<p>{PARA} Kate Henshaw smiled.</p><p>Kate Henshaw</p><p>{PARA} Two.</p>",
        title="Kate Henshaw Is Looking Stunning",
    )
    item = extract(html)
    assert item.authors == []
    assert "Kate Henshaw\n\n" in (item.body or "")


def test_title_cased_phrase_is_not_a_byline() -> None:
    for line in ("Look What You Made Me Do", "Key Points", "Live Updates"):
        html = page(f"<p>Short dek.</p><p>{line}</p><p>{PARA}</p><p>{PARA} Two.</p>")
        assert extract(html).authors == [], line


def test_author_label_as_the_elements_own_text() -> None:
    html = page(
        "<ul><li>3 Minuten Lesezeit</li><li class='information-item'>Von:"
        "<span><a href='/jane-doe'>Jane  DOE</a>,</span> <span><a href='/john-roe'>John ROE</a>"
        f"</span></li></ul><p>{PARA}</p>"
    )
    assert extract(html).authors == [
        "Jane DOE",
        "John ROE",
    ]


def test_meta_headline_and_korean_bar_separator() -> None:
    # "Headline-Section" + "ㅣSite": the site after the Hangul bar goes by name, the
    # section goes because <meta name="headline"> is exactly the part before it.
    head = (
        "<meta property='og:title' content='장동혁 대표 부담 커졌다-정치ㅣ한국일보'>"
        "<meta property='og:site_name' content='한국일보'>"
        "<meta name='headline' content='장동혁 대표 부담 커졌다'>"
    )
    html = (
        f"<html><head><title>x</title>{head}</head><body><article><p>{PARA}</p>"
        "</article></body></html>"
    )
    assert extract(html).title == "장동혁 대표 부담 커졌다"


def test_title_over_an_h1_that_names_the_blog() -> None:
    # No og:title or JSON-LD: the <h1> is the blog's name, sharing no word with the
    # <title>, which names the post.
    def html(h1: str) -> str:
        return (
            "<html><head><title>Five things the council decided on Monday</title></head>"
            f"<body><h1>{h1}</h1><article><p>{PARA}</p></article></body></html>"
        )

    assert extract(html("Riverside Notes")).title == "Five things the council decided on Monday"
    # An <h1> worded apart from the <title> but sharing a word with it is the headline.
    assert extract(html("What the council decided")).title == "What the council decided"


def test_cms_admin_account_is_not_the_author() -> None:
    ld = (
        '<script type=\'application/ld+json\'>{"@graph": [{"@type": "NewsArticle",'
        '"headline": "H", "author": {"@id": "https://news.example/author/admin/",'
        '"name": "Example D"}}, {"@type": "Person", "name": "Example D",'
        '"url": "https://news.example/author/admin/"}]}</script>'
    )
    html = page(f"<span class='byline'>Example D | 5 November 2024</span><p>{PARA}</p>", ld)
    assert extract(html).authors == []


def test_agency_is_the_author_before_an_organisation() -> None:
    ld = (
        '<script type=\'application/ld+json\'>{"@type": "NewsArticle", "headline": "H",'
        '"author": [{"@type": "Organization", "name": "The Associated Press"},'
        '{"@type": "Organization", "name": "Example News"}]}</script>'
    )
    item = extract_article(page(f"<p>{PARA}</p>", ld), URL)
    assert item.authors == ["The Associated Press"]


def test_article_author_meta_names_the_agency() -> None:
    head = "<meta name='articleAuthor' content='Anadolu Ajans&#x131;'>"
    item = extract(page(f"<p>{PARA}</p>", head))
    assert item.authors == ["Anadolu Ajansı"]


def _ld_author(author: str) -> str:
    return (
        '<script type=\'application/ld+json\'>{"@type": "NewsArticle", "headline": "H",'
        f'"author": {author}, "publisher": {{"@type": "Organization", "name": "Example News"}}}}'
        "</script>"
    )


def test_organisation_is_the_author_when_no_person_is_credited() -> None:
    typed = _ld_author('{"@type": "Organization", "name": "Contributors to Example Wiki"}')
    assert extract(page(f"<p>{PARA}</p>", typed)).authors == ["Contributors to Example Wiki"]
    # The outlet itself named as the author, in JSON-LD (even as a "Person") or in meta.
    outlet = _ld_author('{"@type": "Person", "name": "Example News"}')
    assert extract(page(f"<p>{PARA}</p>", outlet)).authors == ["Example News"]
    meta = "<meta name='author' content='EXAMPLE NEWS'>"
    assert extract(page(f"<p>{PARA}</p>", meta)).authors == ["EXAMPLE NEWS"]
    # A desk in a byline.
    desk = page(f"<span class='byline'>By Example News staff</span><p>{PARA}</p>")
    assert extract(desk).authors == ["Example News staff"]


def test_a_person_is_the_author_before_an_organisation() -> None:
    typed = _ld_author('{"@type": "Organization", "name": "Example Media Group"}')
    byline = page(f"<span class='byline'>By Jane Doe</span><p>{PARA}</p>", typed)
    assert extract(byline).authors == ["Jane Doe"]
    # The names-only first line of the body too.
    leading = page(
        f"<p><strong>Jane Doe/John Roe</strong></p><p>{PARA}</p><p>{PARA} Two.</p>", typed
    )
    assert extract(leading).authors == ["Jane Doe", "John Roe"]


def test_the_outlets_site_name_alone_is_no_author() -> None:
    # og:site_name, the JSON-LD publisher and the footer name the outlet; nothing credits it.
    assert extract(page(f"<p>{PARA}</p>", _ld_author("[]"))).authors == []
    # Nor does an element merely classed "author" that holds the outlet's name: a comment's
    # poster, a social widget's account.
    widgets = (
        f"<p>{PARA}</p><div class='comments'><div class='comment'><span>By: "
        "<span class='user'>Example News</span></span><p>Discuss this story.</p></div></div>"
        "<aside><span class='tweet-author'><a href='https://x.example/ExampleNews'>"
        "Example News</a></span></aside>"
    )
    assert extract(page(widgets)).authors == []


def test_a_photo_credit_is_no_organisation() -> None:
    html = page(f"<span class='byline'>STAFF PHOTO BY JANE DOE-ROE</span><p>{PARA}</p>")
    assert extract(html).authors == []


def test_visible_date_without_a_date_class() -> None:
    # No structured date, no class naming one: a short element that is only a date, or a
    # publication label with a date, near the headline.
    for shown, expected in (
        ("<div class='author-name-name'><span>18 NOV 2019</span></div>", "2019-11-18"),
        ("<span class='about__block'>publiziert am 30. Juli 2018</span>", "2018-07-30"),
        ("<p class='meta-line'>Published on March 4, 2024</p>", "2024-03-04"),
    ):
        item = extract(page(f"{shown}<p>{PARA}</p>"))
        assert item.published is not None and item.published.date().isoformat() == expected
    # A sentence that mentions a date is not the article's date (the URL's is taken).
    said = "<p class='lede'>The festival, first held on 4 March 2001, returns.</p>"
    item = extract(page(f"{said}<p>{PARA}</p>"))
    assert item.published is not None and item.published.date().isoformat() == "2022-06-06"


def test_date_completed_by_a_later_candidate_with_time() -> None:
    head = (
        '<script type=\'application/ld+json\'>//<![CDATA[\n{"@type": "NewsArticle",'
        '"datePublished": "2022-06-06T12:00:00+02:00"}\n//]]></script>'
    )
    html = page(f"<time datetime='2022-06-06'>6.6.2022</time><p>{PARA}</p>", head)
    item = extract_article(html, URL)
    assert item.published is not None and item.published.isoformat() == "2022-06-06T12:00:00+02:00"


def test_a_placeholder_date_yields_to_a_possible_one() -> None:
    # A CMS writes 0001-01-01 (or epoch 0) into JSON-LD; the page's visible date holds.
    ld = '<script type=\'application/ld+json\'>{"datePublished": "0001-01-01T00:00:00Z"}</script>'
    item = extract(page(f"<p>{PARA}</p>", head=ld + "<meta name='date' content='2022-06-05'>"))
    assert item.published is not None and item.published.date().isoformat() == "2022-06-05"
    # Alone, it is what the page says (normalization leaves it empty, raw kept) unless the
    # URL has a date.
    alone = extract_article(page(f"<p>{PARA}</p>", head=ld), "https://news.example/story/")
    assert alone.published_raw == "0001-01-01T00:00:00Z"
    assert extract(page(f"<p>{PARA}</p>", head=ld)).published_raw == "2022-06-06"


# -- dates seen on pages outside the development corpora (issue 12) -----------------------

NO_DATE_URL = "https://news.example/story/"
FETCHED = datetime(2022, 6, 6, 18, 0, tzinfo=timezone.utc)


def published_day(html: str, url: str = NO_DATE_URL, fetched_at: datetime | None = None) -> str:
    item = extract_article(html, url, fetched_at, extractor=GenericExtractor)
    return item.published.date().isoformat() if item.published else ""


def test_url_date_with_a_month_name() -> None:
    url = "https://news.example/film/2016/nov/29/a-story"
    assert published_day(page(f"<p>{PARA}</p>"), url) == "2016-11-29"


def test_a_year_alone_is_no_date() -> None:
    for shown in ("<time>2019</time>", "<span itemprop='datePublished'>2019</span>"):
        assert published_day(page(f"{shown}<p>{PARA}</p>")) == "", shown
    # The URL's date stands in for it.
    assert published_day(page(f"<time>2019</time><p>{PARA}</p>"), URL) == "2022-06-06"


def test_cjk_dates_printed_near_the_headline() -> None:
    for shown, expected in (
        ("<span class='date'>2019年4月22日 10:30</span>", "2019-04-22"),
        ("<span class='date'>2019년 4월 22일</span>", "2019-04-22"),
        ("<div class='article-info'><span>입력 2019.03.05 14:20</span></div>", "2019-03-05"),
        ("<p class='info'><span>发布时间：2019/04/04</span></p>", "2019-04-04"),
    ):
        assert published_day(page(f"{shown}<p>{PARA}</p>")) == expected, shown


def test_date_beside_the_byline() -> None:
    for shown in (
        "<p class='byline'>By Jane Doe | 2019/04/04</p>",
        "<div class='author'>Jane Doe, April 4, 2019</div>",
        "<p>by Jane Doe on April 4, 2019</p>",
        "<span class='vitals'>by Jane Doe, Apr 04, 2019 10:00am PDT</span>",
        "<h2 class='date'>April 4, 2019</h2>",
    ):
        assert published_day(page(f"{shown}<p>{PARA}</p>")) == "2019-04-04", shown


def test_relative_dates_count_from_the_fetch_time() -> None:
    html = page(f"<time>3 days ago</time><p>{PARA}</p>")
    item = extract_article(html, NO_DATE_URL, FETCHED, extractor=GenericExtractor)
    # The day it names, without the fetch's time of day passed off as the page's.
    assert item.published == datetime(2022, 6, 3)
    # No fetch time, no date: not one counted back from the clock at extraction.
    assert published_day(html) == ""


def test_a_date_with_a_zone_name_is_complete() -> None:
    # "08:02 GMT" has its time: a later same-day date without a zone (the byline's
    # "08:00", the dateModified's) does not replace it.
    ld = (
        '<script type=\'application/ld+json\'>{"@type": "NewsArticle",'
        '"datePublished": "20 Nov 2019 08:02 GMT"}</script>'
    )
    html = page(f"<div class='author-wrap'>20 Nov 2019 08:00 GMT</div><p>{PARA}</p>", ld)
    item = extract_article(html, NO_DATE_URL, extractor=GenericExtractor)
    assert item.published_raw == "20 Nov 2019 08:02 GMT"


def test_a_machine_date_in_an_abbr_title() -> None:
    # hAtom/Blogger: <abbr class="published" title="ISO">8:57 AM</abbr>; the text alone
    # is a time of day, no date.
    shown = (
        "<span class='post-timestamp'>at <abbr class='published' itemprop='datePublished' "
        "title='2012-08-09T08:57:00-05:00'>8:57 AM</abbr></span>"
    )
    item = extract_article(page(f"<p>{PARA}</p>{shown}"), NO_DATE_URL, extractor=GenericExtractor)
    assert item.published is not None and item.published.isoformat() == "2012-08-09T08:57:00-05:00"


def test_a_comments_date_is_not_the_articles() -> None:
    # WordPress comments: "comment-author" names a byline class, but the date beside it
    # is when a reader wrote; the article's own date is the day alone.
    comments = (
        "<ol class='commentlist'><li class='comment'><div class='comment-author vcard'>"
        "<a class='comment_date' href='#c1'>October 28, 2012 at 8:02 pm</a></div>"
        "<p>Looks delicious, I cannot wait to make it this weekend.</p></li></ol>"
    )
    html = (
        "<html><head><title>Onion Frittata</title></head><body><div class='post'>"
        "<h3 class='title'>Onion Frittata</h3><span class='subtitle'>October 28, 2012</span>"
        f"<div class='content'><p>{PARA}</p><p>{PARA}</p></div></div>{comments}</body></html>"
    )
    item = extract_article(html, NO_DATE_URL, extractor=GenericExtractor)
    assert item.published == datetime(2012, 10, 28)
    # A comment's date alone is no publication date.
    html = html.replace("<span class='subtitle'>October 28, 2012</span>", "")
    assert extract_article(html, NO_DATE_URL, extractor=GenericExtractor).published is None


def test_a_visible_time_with_seconds() -> None:
    # "5:15:00 PM" is 17:15, not the "5:15" before its seconds.
    shown = (
        "<h2 class='date-header'>Posted by Jane Doe - Friday, October 26, 2012 at 5:15:00 PM</h2>"
    )
    item = extract_article(page(f"{shown}<p>{PARA}</p>"), NO_DATE_URL, extractor=GenericExtractor)
    assert item.published == datetime(2012, 10, 26, 17, 15)


# -- the readers' comments are not the article (issue 12) ----------------------------------

LEDE = (
    "The thirteen new episodes of the cooking show have all aired, and the holiday special "
    "will air next week, with a peek at the recipes below."
)


def blog_page(comments: str) -> str:
    """A short post (its lede also the page's description) and a long comment thread."""
    head = f"<meta property='og:description' content='{LEDE}'>"
    post = (
        "<div class='post'><h1>A Headline About the Story</h1>"
        f"<div class='entry'><p>{LEDE}</p><p>{PARA}</p></div></div>"
    )
    return (
        f"<html lang='en'><head><title>A Headline About the Story</title>{head}</head>"
        f"<body><div id='content'>{post}{comments}</div></body></html>"
    )


def comment(i: int, cls: str = "") -> str:
    said = (
        f"Reader {i} said: I just caught this episode the other day and loved it, the "
        "cookies looked wonderful. Thank you so much for sharing, we will try them soon!"
    )
    return f"<li{cls}><cite>Reader {i}</cite><p>{said}</p></li>"


def test_a_comment_thread_of_comment_entries_leaves_the_post() -> None:
    # WordPress: each entry is named "comment" (furniture), so the winning thread
    # yields nothing: the post is the body, and its lede no dek.
    thread = "".join(comment(i, " class='comment'") for i in range(12))
    item = extract(blog_page(f"<div id='comments'><ol class='commentlist'>{thread}</ol></div>"))
    assert (item.body or "").split("\n\n") == [LEDE, PARA]
    assert item.subtitle is None


def test_a_comment_thread_named_so_is_not_the_body() -> None:
    # Entries with no name of their own; the thread (or its box) is named comments.
    thread = "".join(comment(i) for i in range(12))
    for box in (
        f"<div id='comments'><ol>{thread}</ol></div>",
        f"<div id='commentsDiv'><div>{thread}</div></div>",
        f"<div class='comments-area'><ol class='commentlist'>{thread}</ol></div>",
    ):
        assert body_of(blog_page(box)) == [LEDE, PARA], box


def test_a_page_of_comments_alone_keeps_them() -> None:
    thread = "".join(comment(i) for i in range(4))
    html = (
        "<html><head><title>Comments</title></head><body>"
        f"<div id='comments'>{thread}</div></body></html>"
    )
    assert "Reader 3 said" in (extract(html).body or "")


def test_a_run_of_comment_entries_inside_the_container_goes() -> None:
    # The post's paragraphs and the comments share one container; each entry is named
    # "commentbody" (not the word "comment"), and a long one reads as article text.
    long_said = "".join(f"<p>{PARA} Reader {i} again.</p>" for i in range(7))
    entries = (
        f"<div class='commentbody by-one'>{long_said}<p class='posted'>Posted by: One</p></div>"
        f"<div class='commentbody by-two'><p>{PARA} Two.</p><p class='posted'>Posted by: Two"
        "</p></div>"
    )
    post = "".join(f"<p>{PARA} Part {i}.</p>" for i in range(14))
    assert body_of(page(f"<div class='content'>{post}{entries}</div>")) == [
        f"{PARA} Part {i}." for i in range(14)
    ]


def test_a_comments_box_beside_the_post_is_not_merged() -> None:
    said = "".join(f"<p><b>Reader {i}</b> said: {PARA}</p>" for i in range(3))
    box = f"<div class='post-comments'>{said}</div>"
    post = [LEDE, PARA, f"{PARA} Two.", f"{PARA} Three."]
    html = page("<div class='entry'>" + "".join(f"<p>{p}</p>" for p in post) + f"</div>{box}")
    assert body_of(html) == post


def test_a_thread_of_long_comments_goes_as_a_whole() -> None:
    # Every comment outscores the short post, and only the thread's outer boxes are named
    # comments: the thread goes at once, not one comment per try.
    said = "".join(f"<p>{PARA} More {j}.</p>" for j in range(3))
    entries = "".join(
        f"<li><div class='cw'><div class='body'>{said} Reader {i}.</div></div></li>"
        for i in range(6)
    )
    thread = f"<section id='comments'><div class='wrap'><ul>{entries}</ul></div></section>"
    assert body_of(blog_page(thread)) == [LEDE, PARA]


def test_a_page_of_named_comments_alone_keeps_them() -> None:
    thread = "".join(comment(i, " class='comment'") for i in range(4))
    html = (
        "<html><head><title>Comments</title></head><body>"
        f"<div id='comments'><ol class='commentlist'>{thread}</ol></div></body></html>"
    )
    assert "Reader 3 said" in (extract(html).body or "")


def test_a_container_sharing_nothing_with_the_description_gives_way() -> None:
    # A short post and a longer "about this site" box: the page's description (its
    # lede) is only in the post.
    about = "".join(
        f"<p>I am the creator and writer of this blog, which offers commentary, opinion and "
        f"analysis on politics and finance, with {i} thousand readers a day.</p>"
        for i in range(6)
    )
    head = f"<meta name='description' content='{LEDE}'>"
    html = (
        f"<html><head><title>Cookies on the Show</title>{head}</head><body>"
        f"<div class='main'><h1>Cookies on the Show</h1><div class='post'><p>{LEDE}</p></div></div>"
        f"<div class='side'><div class='profile'>{about}</div><p>Archive</p></div></body></html>"
    )
    assert body_of(html) == [LEDE]


def test_a_title_that_is_only_the_site_name_is_no_headline() -> None:
    # og:title and <title> name only the outlet: the headline is the next candidate
    # (JSON-LD headline, else the <h1>), whichever way the page names the site.
    headline = "A Headline About the Story"
    ld = (
        '<script type=\'application/ld+json\'>{"@type": "NewsArticle", '
        f'"headline": "{headline}", "publisher": {{"@type": "Organization", '
        '"name": "Example News"}}</script>'
    )
    for head in (
        "<meta property='og:title' content='Example News'>",
        f"<meta property='og:title' content='Example News'>{ld}",
        "<meta property='og:title' content='EXAMPLE NEWS'>",
        "<meta property='og:title' content='news.example'>",
    ):
        html = (
            "<html><head><title>Example News</title>"
            f"<meta property='og:site_name' content='Example News'>{head}</head>"
            f"<body><article><h1>{headline}</h1><p>{PARA}</p></article></body></html>"
        )
        assert extract(html).title == headline, head
    # JSON-LD publisher name alone, no og:site_name; the h1 differs from the headline.
    html = (
        "<html><head><title>Example News</title>"
        f"<meta property='og:title' content='Example News'>{ld}</head>"
        f"<body><article><h1>Other words</h1><p>{PARA}</p></article></body></html>"
    )
    assert extract(html).title == headline
    # A page whose every candidate is the site name keeps it (nothing better to give).
    html = (
        "<html><head><title>Example News</title>"
        "<meta property='og:site_name' content='Example News'></head>"
        f"<body><p>{PARA}</p></body></html>"
    )
    assert extract(html).title == "Example News"


def test_a_blogs_name_in_a_home_linked_h1_is_no_headline() -> None:
    # No og:title or og:site_name (a blog of 2012): the <h1> is the blog's name, a link
    # to its front page, and the <title> is "Blog name: Post title".
    post = "Teach This! Lesson plans that rock"

    def blog(home: str) -> str:
        return (
            f"<html><head><title>Cool Cat Teacher Blog: {post}</title></head><body>"
            f"<div id='header'><h1 class='title'><a href='{home}'>Cool Cat Teacher Blog</a>"
            f"</h1></div><div class='post'><h3 class='post-title'>{post}</h3>"
            f"<div class='post-body'><p>{PARA}</p></div></div></body></html>"
        )

    for home in ("https://news.example/", "/", "//news.example"):
        assert extract(blog(home)).title == post, home
    # A heading linked to an article (or to another site's front page) may be the headline.
    for link in ("https://news.example/2022/06/06/story/", "https://other.example/"):
        assert extract(blog(link)).title == "Cool Cat Teacher Blog", link


# -- a related-content module's bylines are not the article's (issue 12) ------------------


def review_page(byline: str, related: str) -> str:
    """A music review with its own byline and, beside it, a module of other reviews."""
    return (
        "<html lang='en'><head><title>A Headline About the Story | Example News</title>"
        "<meta property='og:site_name' content='Example News'></head><body>"
        f"<div class='page'><div class='main'><h1>A Headline About the Story</h1>{byline}"
        f"<div class='content'><p>{PARA}</p><p>{PARA} Second.</p></div></div>"
        f"{related}</div><footer><p>Copyright Example News</p></footer></body></html>"
    )


def teasers(tag: str, cls: str, credit: str) -> str:
    cards = "".join(
        f"<li><a href='/reviews/album-{i}/'>Album {i}</a>{credit.format(name=artist)}</li>"
        for i, artist in enumerate(["Marvin Gaye", "Nina Simone", "Otis Redding"])
    )
    return f"<{tag} class='{cls}'><h2>More Reviews</h2><ul>{cards}</ul></{tag}>"


def test_names_in_a_related_module_are_not_co_authors() -> None:
    for own in (
        "<span class='author-name'>Jane Doe</span>",
        "<a rel='author' href='/staff/jane-doe/'>Jane Doe</a>",
        "<div itemprop='author'><span itemprop='name'>Jane Doe</span></div>",
    ):
        for credit in (
            "<span class='author-name'>{name}</span>",
            "<a rel='author' href='/artists/x/'>{name}</a>",
            "<span itemprop='author'><span itemprop='name'>{name}</span></span>",
        ):
            for tag, cls in (("aside", "sidebar"), ("div", "related-reviews"), ("section", "x")):
                html = review_page(own, teasers(tag, cls, credit))
                assert extract(html).authors == ["Jane Doe"], (own, credit, tag, cls)


def test_a_byline_only_in_a_related_module_is_none() -> None:
    # The article credits no one; the teasers' "by Artist" lines are the other reviews'.
    for tag, cls in (("aside", "sidebar"), ("div", "more-stories")):
        html = review_page("", teasers(tag, cls, "<span class='byline'>by {name}</span>"))
        assert extract(html).authors == [], (tag, cls)


def test_a_sidebar_naming_one_person_alone_is_the_credit_of_last_resort() -> None:
    # A one-author blog credits its writer only in the sidebar ("By John Gruber"); a
    # module naming several people (the test above) is other articles' credits.
    sidebar = "<div id='sidebar'><p>By <strong>Jane Doe</strong></p><ul><li>Archive</li></ul></div>"
    assert extract(review_page("", sidebar)).authors == ["Jane Doe"]
    # Beside a byline of the article's own, the sidebar's name is not added to it.
    own = "<span class='author-name'>John Roe</span>"
    assert extract(review_page(own, sidebar)).authors == ["John Roe"]


def test_an_update_time_is_not_the_publication() -> None:
    # The update printed first, as a label or as hAtom's class="updated": the publication
    # is the other date, and the update is ``modified``.
    for shown in (
        "<p class='meta'>Updated: June 8, 2022 10:15 am</p>"
        "<p class='meta'>Published: June 6, 2022 9:00 am</p>",
        "<p class='meta'>Updated June 8, 2022 10:15 am | Published June 6, 2022 9:00 am</p>",
        "<time class='updated' datetime='2022-06-08T10:15:00'>June 8</time>"
        "<time class='entry-date published' datetime='2022-06-06T09:00:00'>June 6</time>",
    ):
        item = extract_article(
            page(f"{shown}<p>{PARA}</p>"), NO_DATE_URL, extractor=GenericExtractor
        )
        assert item.published is not None and item.published.replace(tzinfo=None) == datetime(
            2022, 6, 6, 9, 0
        ), shown
        assert item.modified is not None and item.modified.date().isoformat() == "2022-06-08"


def test_an_update_time_alone_dates_the_page() -> None:
    # A page that prints only "Last Updated:" (and has no date in its URL) is dated by it,
    # to the minute: a wrapper printing the same text is no publication date of the day.
    shown = (
        "<div class='entry-meta'><ul><li class='modified-date'>"
        "<time class='updated' datetime='2018-08-13T08:04:08+00:00'>August 13, 2018</time>"
        "</li></ul></div>"
    )
    item = extract_article(page(f"{shown}<p>{PARA}</p>"), NO_DATE_URL, extractor=GenericExtractor)
    assert item.published == datetime(2018, 8, 13, 8, 4, 8, tzinfo=timezone.utc)
    shown = "<p class='v5-txt-cpt'>Last Updated: October 27, 2012 9:22pm</p>"
    item = extract_article(page(f"{shown}<p>{PARA}</p>"), NO_DATE_URL, extractor=GenericExtractor)
    assert item.published == datetime(2012, 10, 27, 21, 22)


def test_a_related_articles_date_is_not_the_articles() -> None:
    related = (
        "<div class='related-articles'><h2>See also</h2><div class='link'>"
        "<h3><a href='/other/'>Crowd pepper-sprayed at open</a></h3>"
        "<em class='date'>16 January 2008</em><time datetime='2008-01-16T10:00:00Z'>Jan 16</time>"
        "</div></div>"
    )
    html = (
        f"<html><head><title>A Headline</title></head><body>{related}<article><h1>A Headline</h1>"
        f"<p>{PARA}</p><p>{PARA} Two.</p></article></body></html>"
    )
    assert extract_article(html, NO_DATE_URL, extractor=GenericExtractor).published is None
    dated = html.replace(
        "<h1>A Headline</h1>", "<h1>A Headline</h1><p>By Jane Doe, March 3, 2022</p>"
    )
    item = extract_article(dated, NO_DATE_URL, extractor=GenericExtractor)
    assert item.published == datetime(2022, 3, 3)


def test_a_posted_by_line_and_a_labelled_date_with_a_zone() -> None:
    for shown, expected in (
        ("<li>Posted by gatot - on Aug 03, 2012</li>", datetime(2012, 8, 3)),
        ("<p><span>Story Published: Jan 18, 2008 at 8:29 AM PST</span></p>", None),
        (
            "<p><small>Originally posted 2011-04-26 19:03:38.</small></p>",
            datetime(2011, 4, 26, 19, 3, 38),
        ),
    ):
        item = extract_article(
            page(f"{shown}<p>{PARA}</p>"), NO_DATE_URL, extractor=GenericExtractor
        )
        assert item.published is not None, shown
        if expected is not None:
            assert item.published.replace(tzinfo=None) == expected, shown
        else:
            assert item.published.date().isoformat() == "2008-01-18", shown


# An about-me profile in a blog's side column: more prose than a short post.
PROFILE = " ".join(
    [
        "I am the writer of this blog, a former newspaper editor who now covers film, "
        "television and the business of streaming for several magazines and websites."
    ]
    * 6
)


def sidebar_page(post: str, side: str) -> str:
    return (
        "<html lang='en'><head><title>A Headline About the Story</title></head><body>"
        f"<div id='main'><div class='post'><h3>A Headline About the Story</h3>{post}</div></div>"
        f"{side}</body></html>"
    )


def test_an_unclosed_title_does_not_swallow_the_article() -> None:
    html = page(f"<p>{PARA}</p><p>{PARA} Second.</p>").replace(" | Example News</title>", "\n")
    item = extract(html)
    assert (item.body or "").split("\n\n") == [PARA, PARA + " Second."]
    assert item.title == "A Headline About the Story"


def table_page(cell: str) -> str:
    """An old table layout: navigation and the story in cells of nested tables."""
    nav = "<table><tr><td><a href='/'>Home</a> <a href='/world/'>World</a></td></tr></table>"
    return (
        "<html><head><title>A Headline About the Story</title></head><body>"
        f"<table><tr><td>{nav}</td></tr><tr><td><h1>A Headline About the Story</h1>"
        f"{cell}</td></tr></table></body></html>"
    )


def test_an_unknown_tag_in_the_head_does_not_take_the_page_with_it() -> None:
    # libxml2 keeps all that follows an unknown element in <head>; a browser ends the
    # head there and shows the rest as the body.
    html = table_page(f"<p>{PARA}</p><p>{PARA} Second.</p>").replace("</head>", "<mbox>")
    assert body_of(html) == [PARA, PARA + " Second."]


def test_module_after_the_body_scoring_under_half_of_it_is_not_merged() -> None:
    # A sibling after the body with another class and a third of its prose: a "recent
    # posts" module. The same block before the body (a lead) is merged.
    other = (
        "A teaser from another post on the site, with a sentence of its own that runs on "
        "about the weather, the garden and the neighbours, and then some more of it."
    )
    body = "".join(f"<p>{PARA} Part {i}.</p>" for i in range(6))
    module = f"<div class='recent'><p>{other}</p><p>{other} Two.</p><p>{other} Three.</p></div>"
    html = page(f"<div class='wrap'><div class='entry'>{body}</div>{module}</div>")
    text = body_of(html)
    assert text[-1] == PARA + " Part 5."
    assert not any(other in t for t in text)
    before = page(f"<div class='wrap'>{module}<div class='entry'>{body}</div></div>")
    assert body_of(before)[0] == other


def test_comment_counts_prompts_and_the_comment_form_are_not_the_body() -> None:
    html = (
        "<html><head><title>A Headline</title></head><body><div class='post'><h1>A Headline</h1>"
        f"<div class='entry'><p>{PARA}</p></div>"
        "<p class='postmetadata'>There are 27 comments. Add yours.</p>"
        "<p>Posted by Jane Doe | Permalink | 6 Comments | Trackback</p>"
        "<div id='respond'><h3>Leave a Reply</h3><p>You must be logged in to post a comment.</p>"
        "<p>You may use these HTML tags and attributes: &lt;a href=''&gt; &lt;b&gt;</p>"
        "</div></div></body></html>"
    )
    assert body_of(html) == [PARA]
    # A sentence that speaks of comments, and a dateline with a count, are the article's.
    kept = (
        "Leave a comment specifying which plan you have and why you chose it.",
        "August 9, 2012 · 13 Comments",
    )
    for line in kept:
        assert line in body_of(page(f"<div class='content'><p>{PARA}</p><p>{line}</p></div>"))


def test_a_dek_is_never_the_whole_article() -> None:
    # The article's opening, set as a summary heading, taken for the dek and nothing left
    # for the body: the body is that text, and there is no dek.
    html = (
        "<html><head><title>A Headline</title></head><body><article><h1>A Headline</h1>"
        f"<h2 class='summary'>{PARA} {PARA}</h2><p>Short.</p></article></body></html>"
    )
    item = extract_article(html, NO_DATE_URL, extractor=GenericExtractor)
    assert item.subtitle is None
    assert item.body is not None and item.body.startswith(PARA)


def test_linked_heading_opening_a_section_of_the_article_stays() -> None:
    # A listicle links each item's heading to the item; the heading opens prose in the
    # article's own flow. A linked heading in a box of its own (a bio) still goes.
    html = page(
        f"<div class='content'><p>{PARA}</p>"
        f"<h3><a href='https://shop.example/rez/'>Rez Infinite ($30)</a></h3><p>{PARA} One.</p>"
        f"<h3><a href='https://shop.example/thumper/'>Thumper ($20)</a></h3><p>{PARA} Two.</p>"
        f"<div class='about'><h3><a href='/author/jo/'>Jo Writer</a></h3><p>{PARA} Bio.</p></div>"
        "</div>"
    )
    assert body_of(html) == [
        PARA,
        "Rez Infinite ($30)",
        PARA + " One.",
        "Thumper ($20)",
        PARA + " Two.",
        PARA + " Bio.",
    ]


def test_big_furniture_module_after_the_prose_is_dropped() -> None:
    # A slideshow named as a promo, holding more text than the article, below its prose.
    prose = "".join(f"<p>{PARA} Part {i}.</p>" for i in range(7))
    slides = "".join(
        f"<li><h4>Slide {i}</h4><p>{PARA.replace('Netflix', 'Another site')} {i}.</p></li>"
        for i in range(10)
    )
    promo = f"<div class='promo_holder'><ul>{slides}</ul></div>"
    html = page(f"<div itemprop='articleBody'>{prose}{promo}</div>")
    assert body_of(html) == [f"{PARA} Part {i}." for i in range(7)]
    # A wrapper misnamed as furniture around the article (after a short lede) stays.
    html = page(
        f"<div itemprop='articleBody'><p>{PARA}</p><div class='ad-margins'>{prose}</div></div>"
    )
    assert len(body_of(html)) == 8


def test_headline_list_after_the_prose_is_dropped() -> None:
    # A "latest news" module below the article: headlines with their source and date.
    prose = "".join(f"<p>{PARA} Part {i}.</p>" for i in range(7))
    items = "".join(
        f"<li><a href='/news/{i}/'>Studio executives announce another streaming series "
        f"about zombies in Seoul, part {i}</a>"
        f" <span>Example Wire Service | Wed, Jan 16 2008, 07:5{i} GMT</span></li>"
        for i in range(5)
    )
    module = f"<ul class='list'>{items}</ul>"
    html = page(f"<div itemprop='articleBody'>{prose}{module}</div>")
    assert body_of(html) == [f"{PARA} Part {i}." for i in range(7)]
    # The same list followed by the article's closing paragraph is part of the article.
    closing = "<p>We hope you enjoy them and share them with your friends.</p>"
    html = page(f"<div itemprop='articleBody'>{prose}{module}{closing}</div>")
    assert len(body_of(html)) == 7 + 5 + 1


def test_text_in_spans_of_a_layout_cell_is_found_when_nothing_else_scores() -> None:
    # An old table layout: the article is the text of <span>s (and their tails) in a
    # cell that also holds blocks. Spans in a cell do not score as paragraphs; on a page
    # where nothing else does either, they do rather than leave the body empty.
    cell = (
        "<td><h1>A Headline About the Story</h1><span class='txt'>London, Dec 29: "
        "<a href='/topic/'>Netflix</a> confirmed on Monday that the zombie series will return. "
        "<table align='left'><tr><td><img src='/ad.gif'></td></tr></table>"
        f"<br><br>{PARA}<br><br>{PARA} Second.</span></td>"
    )
    html = (
        "<html><head><title>A Headline About the Story</title></head><body>"
        f"<table><tr><td><a href='/'>Home</a></td></tr><tr>{cell}</tr></table></body></html>"
    )
    body = extract(html).body or ""
    assert PARA in body and f"{PARA} Second." in body
    assert body.startswith("London, Dec 29: Netflix confirmed")


def test_comment_prompt_after_the_prose_ends_the_article() -> None:
    # Readers' comments in markup that does not name them: an author in bold, a line
    # break, the comment; the thread announced by a prompt after the article.
    comments = "".join(
        f"<br><b>Reader {i}</b><br>I think the second season will be even better than "
        f"the first, and I cannot wait to watch it with my family, number {i}.<br><br><hr>"
        for i in range(6)
    )
    prose = f"<p>{PARA}</p><p>{PARA} Two.</p><p>{PARA} Three.</p>"
    closed = "<hr><a name='commentSection'></a><b>Comments are now closed for this story</b>"
    html = page(f"<div class='content'>{prose}{closed}<br><br>{comments}</div>")
    assert body_of(html) == [PARA, PARA + " Two.", PARA + " Three."]
    # The prompt in a block of its own, the entries in paragraphs after it.
    entries = "".join(
        f"<p>Reader {i} says the show is great and deserves it.</p>" for i in range(4)
    )
    html = page(f"<div class='content'>{prose}<h3>12 Comments</h3>{entries}</div>")
    assert body_of(html) == [PARA, PARA + " Two.", PARA + " Three."]
    # A comment count at the top of the article, before its prose, ends nothing.
    html = page(f"<div class='content'><p>12 Comments</p>{prose}</div>")
    assert body_of(html) == [PARA, PARA + " Two.", PARA + " Three."]


def test_repeated_attribution_lines_after_the_prose_are_a_thread() -> None:
    # Readers' comments with no name in their markup and no prompt before them: each
    # entry signed "Posted by: name | date". Two or more such lines after the article's
    # prose are a thread, which ends the article at the first of them.
    prose = f"<p>{PARA}</p><p>{PARA} Two.</p><p>{PARA} Three.</p>"
    thread = "".join(
        f"<p>Posted by: reader{i}, Bolton on 8:2{i}pm Tue 1 Jan 08</p>"
        f"<p>I think the second season will be even better than the first one, number {i}.</p>"
        for i in range(3)
    )
    html = page(f"<div class='content'>{prose}{thread}</div>")
    assert body_of(html) == [PARA, PARA + " Two.", PARA + " Three."]
    # One such line is the post's own signature, and stays.
    signed = "<p>Posted by Jane Doe at August 9, 2012 8:27 AM</p>"
    html = page(f"<div class='content'>{prose}{signed}</div>")
    assert body_of(html)[-1] == "Posted by Jane Doe at August 9, 2012 8:27 AM"


def test_rights_notice_followed_by_no_prose_ends_the_article() -> None:
    prose = f"<p>{PARA}</p><p>{PARA} Two.</p><p>{PARA} One more.</p>"
    notice = (
        "<p>Copyright 2008 Example Wire. All rights reserved. This material may not be "
        "published, broadcast, rewritten or redistributed.</p>"
    )
    module = "<p>Breaking News</p>" + "".join(
        f"<p>Markets close higher on Wednesday | Wire | 07:5{i} GMT</p>" for i in range(4)
    )
    html = page(f"<div class='content'>{prose}{notice}{module}</div>")
    assert body_of(html) == [PARA, PARA + " Two.", PARA + " One more."]
    # Prose after the notice (a press release's trademark lines between paragraphs)
    # goes on; a notice that is the last block is the article's own end and stays.
    html = page(f"<div class='content'>{prose}{notice}<p>{PARA} Three.</p>{module}</div>")
    body = body_of(html)
    assert PARA + " Three." in body and body[-1].startswith("Markets close higher")
    html = page(f"<div class='content'>{prose}{notice}</div>")
    assert len(body_of(html)) == 4


def test_a_winner_below_the_articles_opening_gives_way_to_the_whole_article() -> None:
    # The live log outscores the report above it (its text set in a div, not a
    # paragraph, so never merged as a sibling); their container holds both, and prose
    # comes before the log.
    log = "".join(f"<p>{PARA} Update {i}.</p>" for i in range(12))
    report = f"<div class='report'>{PARA} {PARA} {PARA} Report.</div>"
    html = page(f"<div class='story'>{report}<div class='log'>{log}</div></div>")
    body = body_of(html)
    assert body[0] == f"{PARA} {PARA} {PARA} Report."
    assert body[-1] == f"{PARA} Update 11."
    # Text only after the winner is not the article's opening: a module, left out.
    html = page(f"<div class='story'><div class='log'>{log}</div>{report}</div>")
    assert body_of(html) == [f"{PARA} Update {i}." for i in range(12)]


def test_a_page_wrapper_full_of_links_gives_way_to_the_article_inside() -> None:
    # The wrapper outscores the article: it is credited with the article's paragraphs
    # and with the site's notes set as divs around it; its menu makes it link-heavy.
    menu = "".join(f"<li><a href='/s{i}/'>Section number {i}</a></li>" for i in range(16))
    notes = "".join(
        f"<div class='note'>By using this site you agree to its terms of use, and you "
        f"accept that the views of its writers are their own, not the publisher's ({i}).</div>"
        for i in range(4)
    )
    paras = "".join(f"<p>{PARA} Part {i}.</p>" for i in range(4))
    html = (
        "<html><head><title>A Headline About the Story</title></head><body>"
        f"<div id='page'><h1>A Headline About the Story</h1><ul>{menu}</ul>"
        f"<div class='text'>{paras}</div>{notes}</div></body></html>"
    )
    assert body_of(html) == [f"{PARA} Part {i}." for i in range(4)]


def test_the_author_box_below_the_article_goes() -> None:
    paras = "".join(f"<p>{PARA} Part {i}.</p>" for i in range(7))
    bio = (
        "<div class='author-box'>Jane Doe is a senior television writer who has covered "
        "streaming services, their series and their audiences for a decade, before that "
        "at a national daily.</div>"
    )
    body = body_of(page(f"<div class='content'>{paras}{bio}</div>"))
    assert body == [f"{PARA} Part {i}." for i in range(7)]


def test_a_run_of_linked_lines_in_a_br_block_is_a_link_list() -> None:
    # An old layout sets the post and a list of the blog's other posts in one block,
    # line by line: the run of linked lines is a link list, as list items would be.
    others = "".join(
        f"<a href='/2012/07/post-{i}.html'>Another post on this blog, number {i}</a><br>"
        for i in range(10)
    )
    sources = "".join(
        f"<a href='https://src.example/{i}'>Source report {i}</a><br>" for i in range(3)
    )
    block = f"{PARA}<br><br>{PARA} Second.<br><br>{sources}<br><b>More posts:</b><br>{others}"
    body = extract(page(f"<div class='content'>{block}</div>")).body or ""
    assert PARA in body and f"{PARA} Second." in body
    assert "Another post on this blog" not in body
    # A post's own few links under its text stay.
    assert "Source report 2" in body


def test_the_reply_form_ends_the_article_with_its_rules_and_the_notes_below() -> None:
    # The comment box's heading and rules sit around the form, unnamed, and the site's
    # terms for commenters below it: none of it is the article.
    paras = "".join(f"<p>{PARA} Part {i}.</p>" for i in range(4))
    rules = (
        "<p>Comment rules: keep to the topic of the story, do not post personal attacks, "
        "insults or threats, and remember that every comment is read before it appears.</p>"
    )
    form = "<form action='/comment'><textarea name='text'></textarea></form>"
    terms = (
        "<div class='fineprint'>By submitting your comment you accept the terms of the "
        "subscriber agreement, which you should read before you write to us, please.</div>"
    )
    html = page(
        f"<div class='content'>{paras}<div><h3>Have your say</h3>{rules}{form}</div>{terms}</div>"
    )
    assert body_of(html) == [f"{PARA} Part {i}." for i in range(4)]
    # A form with no text area (a search box, a newsletter sign-up) ends nothing.
    html = page(
        f"<div class='content'>{paras}<form action='/s'><input name='q'></form>{terms}</div>"
    )
    assert body_of(html)[-1].startswith("By submitting your comment")


def test_the_headline_part_of_a_title_with_the_sites_name_is_not_body() -> None:
    # The <title> is the headline, a separator and the blog's name (two separators
    # here, which the title's own clean-up keeps); the container prints the headline.
    paras = "".join(f"<p>{PARA} Part {i}.</p>" for i in range(3))
    html = (
        "<html><head><title>Thirsty Thursday: A Watermelon Quencher - - Health Blog</title>"
        "</head><body><div class='post'><h4>Thirsty Thursday: A Watermelon Quencher</h4>"
        f"{paras}</div></body></html>"
    )
    assert body_of(html) == [f"{PARA} Part {i}." for i in range(3)]
    # A two-word part before a separator is a section's name, not the headline.
    html = (
        "<html><head><title>Film Review: A Watermelon Quencher - Health Blog</title></head>"
        f"<body><div class='post'><h2>Film Review</h2>{paras}</div></body></html>"
    )
    assert body_of(html)[0] == "Film Review"


def test_a_heading_at_the_top_that_words_the_headline_apart_is_not_body() -> None:
    paras = "".join(f"<p>{PARA} Part {i}.</p>" for i in range(3))

    def html(heading: str) -> str:
        return (
            "<html><head><title>Bowman, skating champion, dies at 40 | Herald</title></head>"
            f"<body><div class='story'><h2>{heading}</h2>{paras}</div></body></html>"
        )

    # The title's words with a cause added: the headline, in other words.
    assert body_of(html("Skating champion Bowman dies at 40 of likely overdose")) == [
        f"{PARA} Part {i}." for i in range(3)
    ]
    # A heading that shares a word with the title is a section's name: it stays.
    assert body_of(html("Skating results and news"))[0] == "Skating results and news"


def _landing_page(tag: str, *, wrapped: bool = False) -> str:
    """A page of two sections in ``tag``: an intro (a lead, two cards, a notice) and a
    list of six cards nested a level deeper, which outscores it. ``wrapped`` sets the
    intro in one more wrapper, so that ``tag`` scores on none of its text."""

    def cards(names: list[str]) -> str:
        return "".join(
            f"<li class='card'><h2>{n}</h2><p>{PARA} {n} tool.</p>"
            f"<a href='/docs/{n}/'>Learn more about {n}</a></li>"
            for n in names
        )

    notice = (
        "<div class='notice'><h4>Important: sync your profile</h4><p>The edition comes with "
        "a new profile, so you can run it alongside other versions. To keep your bookmarks, "
        "history and more, sync the profile with your existing account.</p></div>"
    )
    intro = (
        "<section class='intro'><header><h1>Welcome to the Example Editor</h1>"
        "<p>Get to know the features that make it the most complete editor.</p></header>"
        f"<ul class='cards'>{cards(['Alpha', 'Beta'])}</ul>{notice}</section>"
    )
    if wrapped:
        intro = f"<div class='intro-wrap'><a id='top'></a>{intro}</div>"
    more = (
        "<section class='more'><div class='wrap'><header><h2>Features and tools</h2></header>"
        f"<ul class='cards'>{cards(['Gamma', 'Delta', 'Epsilon', 'Zeta', 'Eta', 'Theta'])}"
        "</ul></div></section>"
    )
    return (
        "<html><head><title>Welcome to the Example Editor</title></head><body>"
        "<header><nav><a href='/'>Home</a></nav></header>"
        f"<{tag} class='page'>{intro}{more}</{tag}><footer><p>Legal</p></footer></body></html>"
    )


def test_the_main_landmark_holds_sections_that_outscore_their_page_apart() -> None:
    # The six cards win, nested too deep for <main> to score on them; <main> (and an
    # <article>) is the whole, as it holds the intro's prose before them, even where it
    # scores on nothing.
    for tag, wrapped in (("main", False), ("article", False), ("main", True)):
        body = body_of(_landing_page(tag, wrapped=wrapped))
        assert body[0] == "Get to know the features that make it the most complete editor."
        assert f"{PARA} Alpha tool." in body and body[-1] == f"{PARA} Theta tool."
    # A plain div around the same sections is not named the page's content: the cards win.
    body = body_of(_landing_page("div"))
    assert body[0] == "Gamma" and f"{PARA} Alpha tool." not in body


def test_teasers_of_other_stories_below_the_article_go() -> None:
    article = [f"{PARA} Part {i}." for i in range(4)]
    paras = "".join(f"<p>{p}</p>" for p in article)
    teasers = "".join(
        f"<div><a href='/other-{i}/'>Another story the site ran today, number {i}</a><br>"
        f"New York, June 6: An excerpt of that other story, a sentence long ({i}).</div>"
        for i in range(3)
    )
    # A table's row of teaser cells, each headline a heading of its own, goes too.
    cells = "".join(
        f"<td><h4><a href='/o-{i}/'>Another story the site ran, number {i}</a></h4>"
        f"<p>An excerpt of that other story, a sentence long ({i}).</p></td>"
        for i in range(3)
    )
    for module in (f"<div>{teasers}</div>", f"<table><tr>{cells}</tr></table>"):
        assert body_of(page(f"<div class='content'>{paras}{module}</div>")) == article
    # A list whose items run on after their link is the article's (deals, sources).
    deals = [
        f"A 15-inch laptop, model {i} for $550 with free shipping at the store (normally $779)"
        for i in range(3)
    ]
    items = "".join(f"<li><a href='/d-{i}/'>{d[:25]}</a>{d[25:]}</li>" for i, d in enumerate(deals))
    assert body_of(page(f"<div class='content'>{paras}<ul>{items}</ul></div>")) == article + deals


def test_the_trackbacks_below_a_post_end_it() -> None:
    html = page(
        f"<div class='post'><p>{PARA}</p><p>Trackbacks are closed, but you can post a comment.</p>"
        "<h3>TrackBack</h3><p>TrackBack URL for this entry:<br>https://blogs.example/tb/6a00</p>"
        "<p>Listed below are links to weblogs that reference this post:</p></div>"
    )
    assert body_of(html) == [PARA, "Trackbacks are closed, but you can post a comment."]
    # The post's meta line, a link to its trackback address, ends nothing (a link line,
    # dropped before the test).
    html = page(
        f"<div class='post'><p>{PARA}</p><p><a href='/2012/05/post/trackback/'>trackback</a>"
        f"</p><p>{PARA} Second.</p></div>"
    )
    assert body_of(html)[-1] == PARA + " Second."


def test_a_thread_of_long_comments_goes_whole_after_a_short_post() -> None:
    # Each comment outscores the post: dropped one at a time, they outlast the tries.
    comment = (
        "I read this and I have to say that I disagree with most of it, having worked in "
        "the trade for thirty years, and the numbers in the story do not match mine. "
    )
    entries = "".join(
        f"<li class='comment'><div class='cw'><div class='comment-top'>by reader{i}</div>"
        f"<div class='comment-body'><div id='comment_text_{i}'><p>{comment * (2 + i)}</p>"
        f"<p>{comment * 2}</p></div><div class='sig'>Reader {i}</div></div></div>"
        "<div class='reply'><a href='#reply'>Reply</a></div></li>"
        for i in range(5)
    )
    html = (
        "<html><head><title>A Short Post About the Show</title></head><body>"
        f"<div class='post'><h2>A Short Post About the Show</h2><div class='entry'><p>{PARA}</p>"
        f"</div></div><div id='comments'><ol class='commentlist'>{entries}</ol></div>"
        "</body></html>"
    )
    assert body_of(html) == [PARA]


def test_a_comment_block_after_the_prose_goes_whatever_its_size() -> None:
    # The readers' comments set in the article's own column, below its prose: a block
    # named as comments whose entries (text, then the reader's name) are not named at all.
    comment = (
        "I was on that voyage too and never saw anyone use the hand wash by the buffet, "
        "so none of this surprises me, and I doubt that I will ever go on another one."
    )
    entries = "".join(
        f"<p class='small'>{comment} Reader {i} adds more.</p><p class='small grey'>Reader {i}, "
        "London</p>"
        for i in range(10)
    )
    paras = "".join(f"<p>{PARA} Part {i}.</p>" for i in range(7))
    html = page(
        f"<div class='column'>{paras}<div class='comment-article'><h3>Have your say</h3>"
        f"<div class='shown'>{entries}</div></div></div>"
    )
    assert body_of(html) == [f"{PARA} Part {i}." for i in range(7)]
