"""Demo content for `manage.py seed_demo`: categories, the articles in education/seed_content/
(each in Chinese with its English translation) and three online lectures.

Everything goes through `education.services` as the system (actor None), so each article has
its draft → in review → published history and audit events. Like the rest of the demo data it
fills empty tables only: the articles (with their categories) when there is no article yet, the
lectures when there is no lecture yet. Running it twice creates nothing twice, and what editors
wrote, renamed or archived since is never touched or re-created.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import transaction

from loans.models import Language
from portal.demo_logins import Writable

from . import services
from .models import Article, Category, Lecture

CONTENT = Path(__file__).resolve().parent / "seed_content" / "articles"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    name_zh: str
    name_en: str
    position: int


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec("overdue-basics", "逾期与征信", "Overdue and your credit record", 10),
    CategorySpec("repaying", "还款", "Repaying", 20),
    CategorySpec("getting-help", "困难与帮扶", "Getting help", 30),
    CategorySpec("rights-and-safety", "权益与防骗", "Your rights and staying safe", 40),
    CategorySpec("money-skills", "理财与预算", "Money skills", 50),
)

# Published in this order, so within one audience the later ones show first.
ARTICLES: tuple[str, ...] = (
    "budgeting",
    "collection-scams",
    "rights-in-collection",
    "repayment-channels",
    "overdue-to-bad-debt",
    "legal-consequences",
    "small-business-support",
    "hardship-help",
    "restructuring-options",
    "interest-free-extension",
    "credit-record",
)


@dataclass(frozen=True)
class SeedArticle:
    slug: str
    language: str
    title: str
    summary: str
    categories: list[str]
    audiences: list[str]
    body: str


def parse_article(path: Path) -> SeedArticle:
    """A Markdown file with a front matter of `key: value` lines between two `---` lines.
    The file name is `<slug>.<language>.md`."""
    slug, language, _suffix = path.name.split(".")
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError(f"{path.name}: no front matter")
    head, body = text[4:].split("\n---\n", 1)
    meta: dict[str, str] = {}
    for line in head.splitlines():
        key, value = line.split(":", 1)
        meta[key.strip()] = value.strip()

    def listed(key: str) -> list[str]:
        return [item.strip() for item in meta.get(key, "").split(",") if item.strip()]

    return SeedArticle(
        slug=slug, language=language, title=meta["title"], summary=meta["summary"],
        categories=listed("categories"), audiences=listed("audiences"), body=body.strip() + "\n",
    )


@dataclass(frozen=True)
class LectureSpec:
    title: str
    speaker: str
    language: str
    description: str
    days_from_today: int  # negative: already held, with a recording
    at: dt.time
    duration_minutes: int
    capacity: int
    join_url: str
    recording_url: str = ""


LECTURES: tuple[LectureSpec, ...] = (
    LectureSpec(
        title="读懂你的个人信用报告",
        speaker="周敏 · 客户教育中心",
        language=Language.ZH_HANS,
        description=(
            "信用报告里都写了什么？逾期记录怎样显示、保留多久？怎样每年免费查询两次、发现错误怎样提出异议？"
            "讲师会拿一份示例报告逐项讲解，并留出 20 分钟回答大家的问题。\n"
            "适合：第一次逾期、担心征信的借款人，以及想了解自己信用状况的所有人。"
        ),
        days_from_today=6, at=dt.time(19, 30), duration_minutes=60, capacity=200,
        join_url="https://live.example.com/lectures/credit-report",
    ),
    LectureSpec(
        title="逾期了怎么办：和我们沟通的正确方式",
        speaker="陈立 · 贷后服务部",
        language=Language.ZH_HANS,
        description=(
            "逾期之后，电话要不要接？能申请哪些帮助？免息延期、困难帮扶、重新安排还款计划各适合什么情况？"
            "怎样识别冒充催收的诈骗？一位有十年经验的贷后服务主管，用真实（已隐去个人信息）的例子回答这些问题。\n"
            "名额有限，报名后会在前一天短信提醒。"
        ),
        days_from_today=13, at=dt.time(20, 0), duration_minutes=45, capacity=150,
        join_url="https://live.example.com/lectures/talk-to-us",
    ),
    LectureSpec(
        title="Cash flow for small-business owners in a slow season",
        speaker="Lin Hui · Small-business support team",
        language=Language.EN,
        description=(
            "How to see a cash shortfall weeks before it arrives, with a simple 13-week cash-flow "
            "table; which bills to pay first when money is short; how to talk to suppliers, "
            "landlords and lenders; and how our support programme for small-business owners "
            "works.\nThe recording is available below."
        ),
        days_from_today=-9, at=dt.time(19, 0), duration_minutes=50, capacity=100,
        join_url="https://live.example.com/lectures/cash-flow",
        recording_url="https://video.example.com/lectures/cash-flow",
    ),
)


@dataclass
class SeedResult:
    categories: int = 0
    articles: int = 0
    lectures: int = 0
    skipped: list[str] = field(default_factory=list)


def seed_articles_in(language: str) -> list[SeedArticle]:
    return [parse_article(CONTENT / f"{slug}.{language}.md") for slug in ARTICLES]


def _seed_article(item: SeedArticle, categories: dict[str, int], original: Article | None) -> Article:
    """Create, submit and publish one article, as the system."""
    article = services.article_create(
        actor=None, title=item.title, slug=item.slug, language=item.language,
        summary=item.summary, body=item.body,
        category_ids=[categories[slug] for slug in item.categories], audiences=item.audiences,
        translation_of_id=original.pk if original is not None else None,
    )
    services.article_submit(article_id=article.pk, actor=None)
    return services.article_publish(article_id=article.pk, actor=None, note="demo content")


def seed_education(*, as_of: dt.date, stdout: Writable | None = None) -> SeedResult:
    """Categories and articles (Chinese originals, then their English translations) into a
    database without articles; lectures dated around `as_of` into one without lectures."""
    result = SeedResult()
    with transaction.atomic():
        if Article.objects.exists():
            result.skipped.append("articles")
        else:
            _seed_library(result)
        if Lecture.objects.exists():
            result.skipped.append("lectures")
        else:
            _seed_lectures(result, as_of)
    if stdout is not None:
        stdout.write(
            f"Education: {result.categories} categories, {result.articles} articles and "
            f"{result.lectures} lectures added (only into empty tables).\n"
        )
    return result


def _seed_library(result: SeedResult) -> None:
    for spec in CATEGORIES:
        if not Category.objects.filter(slug=spec.slug).exists():
            services.category_create(
                actor=None, slug=spec.slug, name_zh=spec.name_zh, name_en=spec.name_en,
                position=spec.position,
            )
            result.categories += 1
    categories = dict(Category.objects.values_list("slug", "pk"))
    english = {item.slug: item for item in seed_articles_in(Language.EN)}
    for item in seed_articles_in(Language.ZH_HANS):
        original = _seed_article(item, categories, None)
        _seed_article(english[item.slug], categories, original)
        result.articles += 2


def _seed_lectures(result: SeedResult, as_of: dt.date) -> None:
    for lecture in LECTURES:
        day = as_of + dt.timedelta(days=lecture.days_from_today)
        services.lecture_create(
            actor=None, title=lecture.title, speaker=lecture.speaker, language=lecture.language,
            description=lecture.description,
            starts_at=dt.datetime.combine(day, lecture.at, tzinfo=SHANGHAI),
            duration_minutes=lecture.duration_minutes, capacity=lecture.capacity,
            join_url=lecture.join_url, recording_url=lecture.recording_url,
        )
        result.lectures += 1
