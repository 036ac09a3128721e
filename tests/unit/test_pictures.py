"""How pictures are drawn: the protocol chosen from the terminal's replies (simulated on a
pseudo-terminal, as a real terminal answers textual-image's queries), forced modes, tmux; the
Kitty path by its escape output; half-cell sizing."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

import pytest
from PIL import Image

from screens.pictures import detect, fit, halfcell, multiplexed
from tests.helpers import REPO

DA1 = b"\x1b[c"  # device attributes: a Sixel terminal lists 4
TGP_QUERY = b"\x1b_G"  # a Kitty graphics query (a=q)
CELL_SIZE = b"\x1b[16t"  # the cell size in pixels, where the window size gives none


def detect_on_a_terminal(replies: dict[bytes, bytes], env: dict | None = None) -> tuple[str, bytes]:
    """Run ``detect("auto")`` in a process whose terminal is a pseudo-terminal this test plays:
    each query it sends is answered from ``replies`` (none: silence, as a terminal that does not
    know the query). Returns what it chose and every byte it sent."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # 80 × 24, no pixel size
    code = "from screens.pictures import detect; import sys; sys.stderr.write('MODE=' + detect('auto') + '\\n')"
    environment = {k: v for k, v in os.environ.items() if k not in ("TMUX", "STY")}
    environment.update({"TERM": "xterm-256color", "PYTHONPATH": str(REPO), **(env or {})})
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                            env=environment, cwd=REPO)
    os.close(slave)
    sent, answered = b"", set()
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                sent += os.read(master, 4096)
            except OSError:
                break
        # answered in the order they were asked, as a terminal does (textual-image may send a
        # query and the device-attributes request that ends its wait in one write)
        for query in sorted((q for q in replies if q in sent and q not in answered), key=sent.find):
            answered.add(query)
            os.write(master, replies[query])
    err = proc.communicate(timeout=60)[1].decode()
    os.close(master)
    mode = next(line[5:] for line in err.splitlines() if line.startswith("MODE="))
    return mode, sent


def test_a_sixel_terminal_gets_sixel():
    mode, sent = detect_on_a_terminal({DA1: b"\x1b[?62;4;22c", CELL_SIZE: b"\x1b[6;20;10t"})
    assert mode == "sixel" and DA1 in sent


def test_a_kitty_terminal_gets_kitty_graphics():
    # kitty: no 4 in its device attributes, and an OK to the graphics query
    mode, sent = detect_on_a_terminal({DA1: b"\x1b[?62;22c", TGP_QUERY: b"\x1b_Gi=1;OK\x1b\\",
                                       CELL_SIZE: b"\x1b[6;20;10t"})
    assert mode == "kitty" and DA1 in sent and TGP_QUERY in sent


def test_a_terminal_that_answers_neither_gets_half_cells():
    mode, sent = detect_on_a_terminal({DA1: b"\x1b[?1;2c"})  # a VT100's answer, and silence to the rest
    assert mode == "halfcell" and TGP_QUERY in sent


def test_inside_tmux_nothing_is_asked():
    mode, sent = detect_on_a_terminal({}, env={"TMUX": "/tmp/tmux-0/default,1,0"})
    assert mode == "halfcell" and DA1 not in sent and TGP_QUERY not in sent


def test_forced_modes_and_no_terminal():
    for mode in ("kitty", "sixel", "halfcell"):
        assert detect(mode) == mode  # as asked, whatever the terminal
    assert detect("auto", env={}, isatty=False) == "halfcell"
    assert multiplexed({"TERM": "screen-256color"}) and multiplexed({"TMUX": "x"}) and not multiplexed({"TERM": "xterm"})
    with pytest.raises(ValueError, match="unknown picture mode"):
        detect("iterm")


def test_the_kitty_path_sends_the_image_and_draws_placeholders(monkeypatch):
    """textual-image's Kitty renderable: the PNG goes to the terminal in base64 chunks, a virtual
    placement with Unicode placeholders (U=1) follows, and the cells hold the placeholder
    character U+10EEEE; freeing it deletes the image from the terminal."""
    from rich.console import Console

    out = io.StringIO()
    monkeypatch.setattr(sys, "__stdout__", out)  # where textual-image writes its escapes
    from textual_image.renderable.tgp import Image as TGPImage

    picture = TGPImage(Image.new("RGB", (64, 64), (200, 30, 30)), width=8, height=4)
    shown = io.StringIO()
    Console(file=shown, width=40, color_system="truecolor").print(picture)
    escapes = out.getvalue()
    image_id = picture.terminal_image_id
    assert f"\x1b_Gi={image_id},m=0,f=100,q=2;" in escapes  # the PNG (f=100), in one chunk here
    assert f"\x1b_Ga=p,i={image_id},c=8,r=4,U=1,q=2\x1b\\" in escapes  # an 8 × 4 placement by placeholders
    assert shown.getvalue().count(chr(0x10EEEE)) == 8 * 4
    picture.cleanup()
    assert out.getvalue().endswith(f"\x1b_Ga=d,I={image_id}\x1b\\")


def test_half_cells_keep_the_aspect_and_fill_the_place():
    assert fit((16, 16), 16, 8) == (16, 16)
    assert fit((512, 512), 40, 10) == (20, 20)  # the height bounds it: 10 rows = 20 pixels
    assert fit((1024, 512), 40, 20) == (40, 20)
    pixels = halfcell(Image.new("RGB", (512, 512), (0, 128, 255)), 16, 8)
    from rich.console import Console

    text = io.StringIO()
    Console(file=text, width=80, color_system=None).print(pixels)
    lines = text.getvalue().splitlines()
    assert len(lines) == 8 and all(len(line.rstrip()) == 16 for line in lines)
