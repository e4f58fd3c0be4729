"""Property-based: the parser never raises, and the recommendation block never reaches a field."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.core.page import parse_page
from tests.pages import make_html, make_page

TEXT_FIELDS = ("category", "title", "question", "background", "answer")
japanese_text = st.text(
    alphabet=st.sampled_from(list("あいうかきくさしすたちつ漢字法律相談。、？?!「」()（）【】・-...…12１２①■● \n\u3000")),
    max_size=200,
)


def fields_text(result) -> list[str]:
    values = [getattr(result, field) or "" for field in TEXT_FIELDS]
    values += [h.text for h in result.headings] + [s.heading or "" for s in result.sections] + [s.body for s in result.sections]
    return values


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_never_raises_on_arbitrary_bytes(data):
    result = parse_page(data, "fuzz")
    assert result.status in {"ok", "rejected"}
    assert (result.reject_reason is None) == (result.status == "ok")


@settings(max_examples=300)
@given(st.text(max_size=500))
def test_never_raises_on_arbitrary_text(text):
    for data in (text.encode("utf-8", "surrogatepass"), f"<html><body>{text}</body></html>".encode("utf-8", "surrogatepass")):
        assert parse_page(data, "fuzz").status in {"ok", "rejected"}


@settings(max_examples=200)
@given(
    consultation=japanese_text.filter(lambda s: s.strip() and "\n" not in s),
    answer=st.lists(japanese_text.filter(lambda s: s.strip() and "\n" not in s), min_size=1, max_size=6),
    related=st.lists(japanese_text.filter(lambda s: "\n" not in s), max_size=6),
    blank_lines=st.integers(0, 4),
    as_html=st.booleans(),
)
def test_recommendation_block_never_leaks_into_a_field(consultation, answer, related, blank_lines, as_html):
    # A tag outside the generated alphabet marks every line of the block, so any leak is visible.
    tagged = [f"RELATED{i}{line}" for i, line in enumerate(related)]
    page = make_page(consultation=consultation, answer_lines=answer, related_lines=tagged, blank_lines=blank_lines)
    data = (make_html(page) if as_html else page).encode("utf-8")
    result = parse_page(data, "generated")
    for value in fields_text(result):
        assert "おすすめ法律相談" not in value
        assert "RELATED" not in value
