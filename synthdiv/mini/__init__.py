"""The embedded default: a miniature text-to-image model and CLIP, trained here on real digits.

``train`` trains both from a seed; ``bundle`` finds and loads the shipped weights;
``verify`` recomputes the quality numbers recorded in the manifest; ``pipeline`` is the
pixel-space diffusers pipeline the text-to-image model runs in.
"""

CAPTION_TEMPLATES = (
    "a photo of the digit {}",
    "{}",
    "a handwritten {}",
    "the number {}",
    "a picture of a handwritten digit {}",
)
