"""Prompt templates: where the class name goes in a prompt.

A template is text with at least one placeholder: ``{}`` or ``{class}``, each replaced by the
class name, or ``{definition}``, replaced by the class's definition (its WordNet gloss for the
ImageNet class sets, or a class file's second column) — the "name + definition" prompts of
Sariyildiz et al. 2023. ``{{`` and ``}}`` stand for literal braces. Any other brace expression is refused:
templates are user text and are never passed to ``str.format`` (``{0.__class__}`` must not
evaluate anything), so the only thing a template can do is place the class name.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthdiv.errors import TemplateError
from synthdiv.text import TEXT_LIMIT, check_text

PLACEHOLDERS = ("{}", "{class}", "{definition}")
DEFINITION = "{definition}"


@dataclass(frozen=True)
class Template:
    """A validated template: literal pieces with the class name between them."""

    text: str
    pieces: tuple[str, ...]  # len(pieces) == number of placeholders + 1
    fields: tuple[str, ...] = ()  # the placeholder between pieces i and i + 1 ("{}" when not given)

    @property
    def uses_definition(self) -> bool:
        return DEFINITION in self.fields

    def render(self, class_name: str, definition: str = "") -> str:
        """The prompt for one class: the class placeholders replaced by ``class_name``, a
        ``{definition}`` by ``definition``."""
        out = [self.pieces[0]]
        for i, piece in enumerate(self.pieces[1:]):
            field = self.fields[i] if i < len(self.fields) else "{}"
            out += [definition if field == DEFINITION else class_name, piece]
        return "".join(out)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def parse_template(text: str, placeholder: bool = True) -> Template:
    """Validate ``text`` and split it at its placeholders.

    Raises :class:`TemplateError` naming the template when it has no placeholder (unless
    ``placeholder`` is False: a class's own template, ``[classes.overrides]``, may name its class
    in its text), an unknown brace expression, or an unmatched brace.
    """
    if not isinstance(text, str) or not text.strip():
        raise TemplateError("a prompt template is empty", "write text with {} where the class goes")
    check_text(text, f"template {_shown(text[:60])}", TEXT_LIMIT, TemplateError)
    pieces: list[str] = []
    fields: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "{":
            if text.startswith("{{", i):
                current.append("{")
                i += 2
                continue
            end = text.find("}", i)
            if end == -1:
                raise TemplateError(
                    f"template {_shown(text)} has an unmatched '{{'",
                    "write {{ for a literal brace, or use {} / {class} for the class name",
                )
            field = text[i : end + 1]
            if field not in PLACEHOLDERS:
                raise TemplateError(
                    f"template {_shown(text)} has {field!r}",
                    "the only placeholders are {} and {class} (the class name) and {definition}"
                    " (write {{ and }} for literal braces)",
                )
            pieces.append("".join(current))
            fields.append(field)
            current = []
            i = end + 1
        elif ch == "}":
            if text.startswith("}}", i):
                current.append("}")
                i += 2
                continue
            raise TemplateError(
                f"template {_shown(text)} has an unmatched '}}'",
                "write }} for a literal brace, or use {} / {class} for the class name",
            )
        else:
            current.append(ch)
            i += 1
    pieces.append("".join(current))
    if len(pieces) == 1 and placeholder:
        raise TemplateError(
            f"template {_shown(text)} has no placeholder",
            "add {} or {class} where the class name goes",
        )
    return Template(text=text, pieces=tuple(pieces), fields=tuple(fields))


def builtin_templates() -> tuple[str, ...]:
    """The 80 ImageNet prompt templates of CLIP, as open_clip ships them, with ``{}`` placeholders."""
    from synthdiv.classes import open_clip_metadata

    return tuple(fn("{}") for fn in open_clip_metadata().OPENAI_IMAGENET_TEMPLATES)


def parse_templates(texts: list[str], placeholder: bool = True) -> tuple[Template, ...]:
    """Validate a list of templates; duplicates are refused so each prompt is made once."""
    out: list[Template] = []
    seen: set[str] = set()
    for text in texts:
        template = parse_template(text, placeholder)
        if template.text in seen:
            raise TemplateError(f"template {_shown(text)} is listed twice", "keep each template once")
        seen.add(template.text)
        out.append(template)
    if not out:
        raise TemplateError("no prompt templates", "add at least one template, or use the built-in set")
    return tuple(out)
