import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from synthdiv.errors import TemplateError
from synthdiv.templates import builtin_templates, parse_template, parse_templates


def test_both_placeholders_are_replaced_by_the_class_name():
    t = parse_template("a photo of a {}, a {class} in the wild")
    assert t.render("tabby cat") == "a photo of a tabby cat, a tabby cat in the wild"


def test_doubled_braces_are_literal_braces():
    assert parse_template("{{json}} of a {}").render("dog") == "{json} of a dog"


@pytest.mark.parametrize("text", ["{0.__class__}", "a {0}", "a {name}", "a {class.__init__}", "{!r}", "{:>10}"])
def test_any_other_brace_expression_is_refused_naming_the_template(text):
    with pytest.raises(TemplateError) as err:
        parse_template(text)
    assert repr(text) in err.value.message
    assert "{} and {class}" in err.value.message


def test_format_attribute_access_never_runs():
    # if str.format were used, this would render the class of the argument
    with pytest.raises(TemplateError):
        parse_template("{0.__class__.__mro__}").render("x")


@pytest.mark.parametrize("text", ["a photo", "  ", "{{}}"])
def test_a_template_without_placeholder_is_refused(text):
    with pytest.raises(TemplateError) as err:
        parse_template(text)
    assert "placeholder" in err.value.message or "empty" in err.value.message


@pytest.mark.parametrize("text", ["a { photo", "a } photo", "{class"])
def test_unmatched_braces_are_refused(text):
    with pytest.raises(TemplateError, match="unmatched"):
        parse_template(text)


def test_duplicates_are_refused():
    with pytest.raises(TemplateError, match="twice"):
        parse_templates(["a {}", "a {}"])


def test_builtin_set_is_clips_80_imagenet_templates():
    ts = builtin_templates()
    assert len(ts) == 80 and len(set(ts)) == 80
    assert "a bad photo of a {}." in ts
    assert all(parse_template(t).render("x") for t in ts)


@given(st.text())
@example("{definition}")  # a prompt that gives the definition and never the name: a template like any other
def test_parsing_any_text_either_works_or_says_why(text):
    try:
        t = parse_template(text)
    except TemplateError as exc:
        assert exc.message
        return
    out = t.render("\x00", "\x01")  # every placeholder filled: the class name, or its definition
    assert out.count("\x00") + out.count("\x01") == len(t.pieces) - 1 >= 1
    assert out.count("\x01") == t.fields.count("{definition}")


PRINTABLE = st.characters(blacklist_characters="{}", blacklist_categories=("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"))


@given(st.text(alphabet=PRINTABLE, max_size=40),
       st.text(alphabet=PRINTABLE, max_size=40),
       st.text(min_size=1, max_size=20))
def test_render_puts_the_name_between_the_literal_parts(before, after, name):
    assert parse_template(before + "{}" + after).render(name) == before + name + after
