"""The settings of an experiment file, each declared once.

Every key of every section of an experiment TOML file is one :class:`Setting` here: its type, its
default, its allowed range or choices, the label the setup screen shows (if it has a field there)
and its doc. The rest reads this table:

- ``workbench.config`` checks a file with one generic validator (type, range, choices) plus small
  named cross-checks (the model's family against the scheduler, a device this machine has, …);
  the config dataclasses take their defaults from here;
- the setup screen builds its settings fields from the settings that have a ``label``;
- ``docs/config.md``'s key tables and the JSON Schema of ``synthdiv schema`` are generated from it
  (``python -m workbench.schema --write`` rewrites the doc; a test fails when it is stale).

It holds data only and imports nothing, so every layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = ("string", "int", "number", "bool", "strings", "devices", "overrides")


@dataclass(frozen=True)
class Setting:
    """One key of the experiment file.

    ``kind``: ``string``, ``int``, ``number`` (an int is taken as a float), ``bool``, ``strings``
    (a list of strings), ``devices`` (a string, a list of strings or a CPU worker count) or
    ``overrides`` (a table of per-class tables, each key one of :data:`PER_CLASS`).
    ``low``/``high``: the inclusive range of a number (``open_low``/``open_high``: the bound itself
    is refused); ``multiple_of``: an int must divide by it; ``choices``: the strings allowed.
    ``hint``: the fix shown for a value out of its range or choices (default: the range or the
    choices in words). ``example``: a line of TOML shown with a badly typed list. ``label``: the
    setup screen's field ("": no field there). ``shown_default``: the default as docs/config.md
    shows it where the value alone would mislead (``runs/<name>``).
    """

    section: str  # "" for the top level
    key: str
    kind: str
    default: Any
    doc: str
    low: int | float | None = None
    high: int | float | None = None
    open_low: bool = False
    open_high: bool = False
    multiple_of: int | None = None
    choices: tuple[str, ...] = ()
    hint: str = ""
    example: str = ""
    label: str = ""
    required: bool = False
    shown_default: str = ""

    @property
    def name(self) -> str:
        """The key as messages name it: ``generation.guidance``, ``name``."""
        return f"{self.section}.{self.key}" if self.section else self.key

    def fix(self) -> str:
        """What to do about a value out of range or not among the choices."""
        if self.hint:
            return self.hint
        if self.choices:
            return "use " + " or ".join(self.choices)
        if self.open_low or self.open_high:
            return (f"use a value {'above' if self.open_low else 'from'} {self.low}"
                    f" {'and below' if self.open_high else 'and at most' if self.open_low else 'to'} {self.high}")
        return f"use a value from {self.low} to {self.high}"

    def problem(self, value: Any) -> str:
        """Why ``value`` (already of the right type) is refused, or "" when it is allowed."""
        if self.choices and value not in self.choices:
            return "choices"
        if self.low is not None and (value < self.low or (self.open_low and value == self.low)):
            return "range"
        if self.high is not None and (value > self.high or (self.open_high and value == self.high)):
            return "range"
        if self.multiple_of and value % self.multiple_of:
            return "multiple"
        return ""


SETTINGS: tuple[Setting, ...] = (
    Setting("", "name", "string", "",
            "The experiment's name in the store. Running the same name again resumes it.",
            required=True, label="experiment name"),
    Setting("", "store", "string", "",
            'The store folder. `--store DIR` on the command line wins.',
            label="store folder", shown_default="`runs/<name>` in the working folder"),
    Setting("classes", "set", "string", "digits",
            ('`imagenet` (the 1000 ImageNet class names open_clip ships); `imagenet-raw` (the same classes under '
             "WordNet's first lemma, where both cranes are `crane`, as the class's ambiguity is studied); the "
             'ImageNet subsets `imagenet-r` '
             '(200), `imagenet-a` (200) and `mini-imagenet` (100), labelled as in ImageNet (by the synset '
             'lists timm ships); `digits` (zero … nine); or the path of a UTF-8 text file with one class '
             'name per line (blank lines and lines starting with `#` are skipped; a name may appear once; a '
             'definition may follow the name after a tab, for `{definition}`).')),
    Setting("classes", "names", "strings", (),
            ('The classes to use, in this order. Names match ignoring case; an unknown name is refused with '
             'the closest matches. ImageNet names two classes "missile" and two "sunglasses": the second of '
             'each is labelled `missile #2` / `sunglasses #2` and is still prompted as "missile" / '
             '"sunglasses". List the names with `synthdiv classes SET --search TEXT`.'),
            shown_default="all of the set", example='names = ["goldfish", "tabby cat"]'),
    Setting("classes", "overrides", "overrides", {},
            ('Per-class settings: a table per class label, each with any of `templates` (the class\'s own '
             'templates, in place of the experiment\'s), `guidance`, `negative_prompt` and `images_per_prompt`, '
             'checked as the experiment-wide keys are. `[classes.overrides."crane bird"]` then '
             '`templates = ["a photo of a {}, a wading bird."]` and `guidance = 3.0`. What a class\'s images are '
             'made with is recorded with each of them. Adding or changing a class\'s `templates` or '
             '`images_per_prompt` adds jobs for that class only; a `guidance` or `negative_prompt` may change only '
             'while the class has no image yet (its images must not mix two setups). Other keys shape every '
             'image (`steps`, `model`, the size, …) and are refused per class. `synthdiv repair` writes its '
             'winning remedies here.'),
            shown_default="none", example='[classes.overrides."crane bird"]'),
    Setting("templates", "builtin", "bool", False,
            ('Use the 80 ImageNet prompt templates of CLIP as open_clip ships them (`synthdiv templates` '
             'lists them).')),
    Setting("templates", "custom", "strings", (),
            'More templates.',
            example='custom = ["a photo of a {}."]'),
    Setting("generation", "model", "string", "tiny-random",
            ('A diffusers pipeline — SD 1.x, SD 2.x (v-prediction too), SDXL and Turbo, SD3/3.5, FLUX.1 and '
             'PixArt are each tested — as a local folder written by `save_pretrained` (with '
             '`model_index.json`; a folder without one is refused when the file is read), a single-file '
             '`.safetensors` checkpoint (with `base_config`), a hub id such as `stabilityai/sd-turbo`, or a '
             "preset: `mini-digits` (synthdiv's own 16×16 text-to-image model trained on real digits, shipped "
             'with the package; see [mini-models.md](mini-models.md)) or `tiny-random` (tiny random-weight '
             'Stable Diffusion, for tests: its images mean nothing). With `HF_HUB_OFFLINE=1` a hub id must '
             'already be in the local cache.'),
            label="generation model (preset/hub id/folder)"),
    Setting("generation", "revision", "string", "",
            ('A hub revision (branch, tag or commit) for a hub id. The commit actually used is recorded with'
             ' every image.')),
    Setting("generation", "base_config", "string", "",
            ('For a single-file checkpoint only (`model = "v1-5-pruned-emaonly.safetensors"`, as many users '
             'download SD 1.x / 2.x / XL): the diffusers folder or hub id of the model it was made from, '
             'whose configs, tokenizers and scheduler rebuild its pipeline '
             '(`"stable-diffusion-v1-5/stable-diffusion-v1-5"`, '
             '`"stabilityai/stable-diffusion-xl-base-1.0"`, or a local folder). The file is loaded with the '
             "pipeline's `from_single_file`. Refused when the file is read, before any store exists: a "
             'single file without `base_config`; a pickled checkpoint (`.ckpt`, `.pt`, `.bin`: loading one '
             'can run code; use the `.safetensors` download); a file without an original-layout UNet '
             "(`model.diffusion_model.*`); a file whose UNet widths differ from the base's (an SDXL file "
             'with an SD 1.x base); a base that cannot load single files (PixArt); a hub base not in the '
             "cache with `HF_HUB_OFFLINE=1`. Each image records the file's sha256 (`model_hash`) and the "
             'base (`model_revision`: `base FOLDER@HASH` or `base ORG/NAME@COMMIT`).')),
    Setting("generation", "scheduler", "string", "default",
            ("`default` keeps the model's own; or one of `ddim`, `ddpm`, `pndm`, `lms`, `euler`, `euler-a`, "
             "`heun`, `dpm++`, `unipc`. A scheduler the model's own does not list as compatible (its "
             '`_compatibles`) is refused when the file is read: SD3 and FLUX sample with flow matching, and no'
             ' other scheduler samples them correctly (on SD3 a swap ran and sampled wrongly in silence; on '
             'FLUX every job failed).'),
            label="scheduler"),
    Setting("generation", "steps", "int", 25,
            'Denoising steps (1–1000).',
            low=1, high=1000, label="steps"),
    Setting("generation", "guidance", "number", 7.5,
            'Classifier-free guidance scale (0–100).',
            low=0, high=100, label="guidance"),
    Setting("generation", "width", "int", 512,
            'Image width in pixels, a multiple of 8.',
            low=8, high=4096, multiple_of=8, label="width (px)"),
    Setting("generation", "height", "int", 512,
            'Image height in pixels, a multiple of 8.',
            low=8, high=4096, multiple_of=8, label="height (px)"),
    Setting("generation", "negative_prompt", "string", "",
            ('The same negative prompt for every image. Refused when the file is read for a pipeline that '
             'does not use one (FLUX: its guidance is distilled, and it reads a negative prompt only in '
             '"true CFG" mode, which synthdiv does not run), so a stored setting is always one that acted.')),
    Setting("generation", "images_per_prompt", "int", 4,
            ('Images per (class, template) prompt. A plan of more than 2,000,000 images (classes × templates ×'
             ' this) is refused unless `synthdiv run` is given `--yes` (a few extra zeros are usually a typo);'
             ' any plan is recorded in batches, with a progress bar when it is large.'),
            low=1, high=100_000, label="images per prompt"),
    Setting("generation", "seed", "int", 0,
            'The base seed.',
            low=0, high=2**31 - 1, label="seed"),
    Setting("generation", "seeds", "string", "distinct",
            ('`distinct`: every (class, template, image) gets its own seed, derived from a hash of the base '
             'seed, class, template and image number — prompts never share starting noise, and adding classes '
             'or templates never changes the seeds of images already made. `shared`: every prompt uses seeds '
             '`seed`, `seed+1`, … (paired comparisons across prompts from the same starting noise).'),
            choices=("distinct", "shared")),
    Setting("generation", "batch_size", "int", 4,
            ('Images per pipeline call. An image does not depend on the batch it was made in. `0`: automatic —'
             ' start at 64 on CUDA (8 on CPU); when CUDA runs out of memory the batch is made in halves, and '
             'the worker keeps the size that fitted. Out of memory never fails or loses a job, whatever the '
             'batch size.'),
            low=0, high=4096, label="batch size"),
    Setting("generation", "device", "string", "auto",
            ('`auto` (CUDA when available, else CPU), `cpu`, `cuda`, `cuda:1`…, `mps`; a device this machine'
             ' does not have (`cuda:9` on a 4-GPU box, `cuda` without CUDA) is refused when the file is '
             'read. On CUDA the GPU path is used: fp16, PyTorch scaled-dot-product attention, channels-last '
             'UNet, VAE slicing; fp32 on CPU.')),
    Setting("generation", "devices", "devices", "auto",
            ("Where generation workers run, one worker per device, all sharing the experiment's queue. "
             '`"auto"`: one on every visible GPU (without a GPU, one CPU worker). A list: `["cuda:0", '
             '"cuda:2"]`, `["cpu"]`, each device once. A number N: N CPU workers (`cpu:0` … `cpu:N-1`) '
             "sharing the cores. Device numbers are torch's under your `CUDA_VISIBLE_DEVICES` (with "
             '`CUDA_VISIBLE_DEVICES=2,3`, `cuda:0` is the GPU `nvidia-smi` calls 2); each worker is started '
             'with `CUDA_VISIBLE_DEVICES` naming its one GPU and records its device with every image. Not '
             'part of what shapes images: it may change between runs. The older `device` key still works: '
             '`device = "cuda:1"` alone means `devices = ["cuda:1"]` (set one of the two).')),
    Setting("generation", "compile", "bool", False,
            ('`torch.compile` the denoiser on CUDA — the UNet, or the transformer of SD3, FLUX and PixArt: '
             'the first batch is slow (compilation), later ones faster.')),
    Setting("generation", "dtype", "string", "auto",
            ("The weights' precision: `auto`, `float16`, `bfloat16` or `float32`. `auto` is float32 on the "
             'CPU; on CUDA bfloat16 for FLUX and SD3 pipelines (by `model_index.json`: they overflow in '
             'float16) and float16 for the others. An image that comes out non-finite (NaN) or blank — what '
             'an overflowing model makes — is never stored: its job fails saying so and which dtype to set. '
             'Recorded with every image.')),
    Setting("embedding", "model", "string", "tiny-random",
            ('An open_clip architecture (`ViT-L-14`, `ViT-H-14`, …), a local folder with '
             '`open_clip_config.json` and weights, `hf-hub:org/repo` (fetched into the hub cache by `synthdiv '
             'run` before anything is generated; with `HF_HUB_OFFLINE=1` one not in the cache is refused when '
             "the file is read; its embeddings are stored as `hf-hub:org/repo@COMMIT`, the snapshot's commit, "
             'so two revisions never mix), or a preset: `mini-digits` (the mini CLIP shipped with synthdiv, '
             'trained on real digits) or `tiny-random`.'),
            label="embedder (preset, open_clip arch, folder)"),
    Setting("embedding", "pretrained", "string", "",
            ('For an architecture: an open_clip pretrained tag (`openai`, `laion2b_s32b_b82k`, …) or the path '
             'of a weights file. Required for an architecture: random weights give meaningless numbers.'),
            label="embedder weights (tag or file)"),
    Setting("embedding", "image_models", "strings", (),
            ('Image-only encoders beside CLIP, for the image-only measures (generative-model evaluation now '
             'recommends self-supervised encoders such as DINOv2 over Inception and CLIP for fidelity and '
             'diversity). Each is any timm model: a local folder saved by `timm.models.save_for_hf` '
             '(`config.json` + `model.safetensors`), `hf-hub:ORG/NAME` '
             '(`"hf-hub:timm/vit_small_patch14_dinov2.lvd142m"`), or a timm name with its pretrained tag '
             '(`"vit_small_patch14_dinov2.lvd142m"`: the hub weights timm names). Each embeds every synthetic '
             'and real image (its pooled pre-logits features, L2-normalised), stored as '
             '`timm:local-dir:NAME@HASH` or `timm:hf-hub:ORG/NAME@COMMIT`; `synthdiv report` and `synthdiv '
             'export` give its headline (probes, Vendi, PRDC, Fréchet, CMMD with intervals), diversity, '
             "accuracy and memorisation tables next to CLIP's (`diversity.timm-….csv`, `image_encoders` in the"
             ' JSON). CLIP stays the encoder of the text-image measures: adherence, zero-shot, ambiguity, CLIP'
             ' score, modality gap. A name without pretrained weights (random weights give meaningless '
             'numbers), a folder that is not a timm model, or a hub model missing offline is refused when the '
             'file is read; hub models are fetched by `synthdiv run` before anything is generated.'),
            example='image_models = ["hf-hub:timm/vit_small_patch14_dinov2.lvd142m"]'),
    Setting("embedding", "batch_size", "int", 64,
            'Images or texts per forward pass.',
            low=1, high=65536),
    Setting("embedding", "device", "string", "auto",
            'As for generation.'),
    Setting("embedding", "dtype", "string", "auto",
            '`auto` (float16 on CUDA, float32 on the CPU), `float16`, `bfloat16` or `float32`.'),
    Setting("embedding", "devices", "devices", "auto",
            ('As for generation (several embedding workers split the images and prompts by id, so none '
             'embeds what another does; the first runs the live analysis), except that `"auto"` with GPUs '
             'gives one embedding worker, beside generation on the last visible GPU: an embedder reads '
             'images far faster than a diffusion model makes them, so one keeps pace with several GPUs of '
             'generation (judged, not yet measured on a multi-GPU box: `python -m benchmarks.gpu` measures '
             'it).')),
    Setting("real", "source", "string", "",
            ("The real images the synthetic ones are compared against. `digits`: scikit-learn's real "
             '`load_digits()` images (upsampled to 16×16) with their fixed split — 1347 train (they may train '
             'the real→real probe) and 450 test (the yardstick; the mini models never saw them); '
             '`digits-test`: the test split only. Both need the `digits` class set and are written into the '
             'store (`DIR/real/`). Or the path of a folder with one sub-folder per class: folder names match '
             'class labels (or the names in prompts) ignoring case and treating `_` and `-` as spaces, or are '
             'ImageNet WordNet ids (`n01440764` is the ImageNet class `tench`, by the synset list timm ships, '
             "whose order is open_clip's class order); folders of other classes are ignored; files stay where "
             'they are. An ImageNet root with `train/` and `val/` folders of class folders (`ILSVRC2012` as '
             'the usual preparation leaves it) uses `train/` as the train split and `val/` as the test split. '
             'A file that cannot be read is skipped, counted and reported (`synthdiv status`, the workbench, '
             'exports), never stops a worker. Or a dataset: `"hf:PATH"`, a Hugging Face `datasets` dataset on '
             'this machine — a folder written by `save_to_disk` (a `Dataset` or `DatasetDict`), `.parquet` '
             'files (one file or a folder of them), or an image folder `datasets` reads as `imagefolder` '
             '(needs the `hf` extra: `pip install "synthdiv[hf]"`; without it the run exits 2 saying so); or '
             '`"wds:PATH"`, webdataset tar shards — one `.tar`, a folder of them, or a pattern '
             '`shards/train-{000000..000146}.tar` (plain tar files, read with the standard library: no extra '
             "needed). A dataset's images are copied into the store with their bytes unchanged "
             '(`DIR/real/hf/…`, `DIR/real/wds/…`); only the headers are read when the file is checked. A '
             'folder given as a plain `source` that holds a datasets folder, parquet files or shards is named '
             'for what it is, with the `hf:`/`wds:` spelling that reads it.'),
            label="real images (digits, digits-test, folder)", shown_default='`""` (no real set)'),
    Setting("real", "mapping", "string", "",
            ("A CSV file of `folder,class` lines naming the class of folders (or a dataset's label names or "
             'numbers) whose names do not match. It may list classes the experiment does not use (a full '
             '1,000-line ImageNet mapping for a 3-class experiment); a class the class set does not have is '
             'refused (a typo). Numbered webdataset labels (`cls`) need one: `0,tench` lines.')),
    Setting("real", "test_fraction", "number", 0.5,
            ("The share of each folder's images put in the test split (by a hash of the file's path, so adding"
             ' files never moves others); for a dataset read as one split, by a hash of the row number or '
             'shard and key. The rest may train the real→real probe. Not used for an ImageNet root with '
             '`train/` and `val/`, nor for a dataset read with two splits.'),
            low=0, high=1, open_low=True, open_high=True, hint="use a value between 0 and 1"),
    Setting("real", "split", "string", "",
            ('For a dataset source. `hf:`: `""` uses the dataset\'s `train` split as train and its '
             "`validation` (else `test`) split as test — ImageNet's unlabelled test split is never used when"
             ' there is a validation split; `"NAME"` reads that one split, divided by `test_fraction`; '
             '`"A,B"` reads A as train and B as test. `wds:`: `""` divides every sample by `test_fraction`; '
             '`"A,B"` makes the shards whose file name contains A the train split and B the test split '
             '(`"train,val"` for `imagenet-train-*.tar` and `imagenet-val-*.tar`). A split the dataset does '
             'not have is refused, naming those it has.')),
    Setting("real", "label_column", "string", "",
            ('For a dataset source: the column (`hf:`, default `label`) or sample member (`wds:`, default '
             "`cls`; `txt`, or `json` with a `label` field) holding each image's class. A `ClassLabel` "
             'column gives its own names; names match the classes as folder names do (case, `_`, `-`, '
             'WordNet ids); rows without a label (`-1`) or of other classes are left out.')),
    Setting("train", "runs", "strings", (),
            ('What to train on. `"synthetic"`: every synthetic image (CAS). `"real"`: real train images, as '
             'many per class as the class has synthetic ones (`real_per_class` sets another number) — the '
             'ceiling at equal n; it also judges the synthetic images (its accuracy on them: adherence read by'
             ' a classifier that never saw a prompt). `"mix-Kx"` (`mix-1x`, `mix-2x`, …): the `real` run\'s '
             'images plus K× as many synthetic ones per class — what adding synthetic images changes. '
             '`"SELECTION-N"` (`random-20`, `clip-20`, `adherent-20`, `diverse-20`): N synthetic images per '
             'class chosen by a curation (a random sample, the top CLIP scores, those the `real` run reads as '
             'the class, greedy k-centre in the CLIP space; docs/repair.md) — selections compared at one budget; '
             '`adherent-N` needs `"real"` listed before it. The real and mix runs need a real set with a train '
             'split (not `digits-test`).'),
            label="pixel classifiers (synthetic, real, mix-1x)", example='runs = ["synthetic", "real", "mix-1x"]'),
    Setting("train", "model", "string", "digits-cnn",
            ("`digits-cnn` (synthdiv's four-convolution network for the 16×16 digits: seconds per run on a "
             'CPU) or any timm architecture (`resnet18`, `resnet50`, `vit_small_patch16_224`, … — '
             '`timm.list_models()`), trained from scratch as the papers do.')),
    Setting("train", "weights", "string", "",
            ('A local `.safetensors` file to start from (e.g. saved from timm); tensors of another shape (a '
             'head for another number of classes) keep their initial values. Pickled `.pt` / `.pth` files '
             'are refused.')),
    Setting("train", "epochs", "int", 30,
            ("Passes over the training images. The reported accuracy is the last epoch's: the test set is "
             'scored after every epoch for the curves, but never chooses an epoch.'),
            low=1, high=10_000),
    Setting("train", "batch_size", "int", 128,
            'Images per step.',
            low=1, high=65536),
    Setting("train", "lr", "number", 0.001,
            ('Peak learning rate: warmed up linearly over the first 3 % of steps, then cosine-decayed to zero.'),
            low=0, high=10, open_low=True, hint="use a learning rate above 0 and at most 10 (e.g. 0.001)"),
    Setting("train", "optimizer", "string", "adamw",
            '`adamw` or `sgd` (momentum 0.9, Nesterov).',
            choices=("adamw", "sgd")),
    Setting("train", "weight_decay", "number", 0.05,
            'On weights, not on norms and biases.',
            low=0, high=10, hint="use a value from 0 to 10 (e.g. 0.05)"),
    Setting("train", "image_size", "int", 0,
            ('Side of the training images in pixels; `0`: the generated width. Real images are resized '
             '(shorter side) and centre-cropped for testing.'),
            low=0, high=4096),
    Setting("train", "crop_scale", "number", 0.08,
            ('Random resized crop: the least share of the image kept (aspect 3/4–4/3), as timm and torchvision'
             ' do; `1`: no crop.'),
            low=0, high=1, open_low=True, hint="use a share above 0 and at most 1 (1: no crop)"),
    Setting("train", "flip", "bool", True,
            'Random horizontal flips (off for digits and text: a mirrored digit is another shape).'),
    Setting("train", "real_per_class", "int", 0,
            ('Real train images per class in the `real` and mix runs; `0`: as many as synthetic. A mix '
             '`mix-Kx` needs K × this many synthetic images per class.'),
            low=0, high=10_000_000),
    Setting("train", "seed", "int", 0,
            ('Initial weights, the real subset drawn, data order and augmentation: the same seed gives the '
             'same numbers (on the CPU).'),
            low=0, high=2**31 - 1),
    Setting("train", "compile", "bool", False,
            '`torch.compile` the model on CUDA.'),
    Setting("train", "device", "string", "auto", "As for generation."),
    Setting("train", "devices", "devices", "auto",
            ('As for generation. On CUDA, training runs in mixed precision (bf16 where the GPU has it, else '
             'fp16 with loss scaling) and channels-last.')),
    Setting("cluster", "engine", "string", "local",
            '`local` (worker processes on this machine) or `ray` (actors on a Ray cluster).',
            choices=("local", "ray"), hint='use "local" (this machine\'s devices) or "ray" (a Ray cluster)'),
    Setting("cluster", "address", "string", "auto",
            ('The cluster: `auto` (`RAY_ADDRESS`, else the cluster `ray start` began on this machine, else a'
             ' new one here), `local` (a new one on this machine, for as long as the run), `HOST:PORT` (the '
             'address `ray start --head` prints), or `ray://HOST:10001` (Ray Client). A cluster synthdiv '
             'starts sends no usage statistics.')),
    Setting("cluster", "actors", "int", 0,
            ('Generation actors; `0`: one on each GPU of the cluster (one on a cluster without GPUs, given all'
             ' its CPUs). At most one per GPU.'),
            low=0, high=100_000),
    Setting("cluster", "in_flight", "int", 2,
            ('Batches handed to each actor at once (1–16): enough to keep it busy while the last one travels '
             'back, and all the head holds in memory per actor.'),
            low=1, high=16),
    Setting("cluster", "shared_dir", "string", "",
            ('A folder every node and this machine see at this path (a network file system): the actors '
             "write the image files to `SHARED/images` themselves, and the store's `images` folder becomes a"
             ' link to it; only rows travel back. `""`: the PNGs travel back through Ray and are written '
             'here. The SQLite file always stays on this machine.')),
    Setting("repair", "remedies", "overrides", {},
            ('Your own remedies for `synthdiv repair`: `[repair.remedies.NAME]` with any of the per-class keys '
             '(`templates`, `guidance`, `negative_prompt`, `images_per_prompt`), tried for every class it repairs, '
             'beside the built-in remedies of docs/repair.md, and measured the same way.'),
            shown_default="none", example='[repair.remedies.sketch]'),
    Setting("repair", "of", "string", "",
            ('Written by `synthdiv repair` in the experiments it makes: the experiment (in the same store) whose '
             'classes this one remakes. Its training runs (`repair:CLASS`, one per class) train the pixel classifier '
             'of that experiment\'s `[train]` on its images with this class\'s replaced by these, and test it on its'
             ' real test split.'),
            shown_default='`""` (none)'),
    Setting("repair", "keep", "strings", (),
            ('With `of`: the classes whose images are curated before training, as `"CLASS:SELECTION:N"` — keep N '
             'of the class\'s images by `random`, `clip` (CLIP score), `adherent` (read as the class by the real-'
             'trained judge) or `diverse` (greedy k-centre), as `synthdiv export --select` does.'),
            example='keep = ["seven:adherent:30"]'),
)

SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(s.section for s in SETTINGS))

# the keys a class may set for itself in [classes.overrides."LABEL"], each checked by the
# declaration of the experiment-wide key it stands in for
PER_CLASS: dict[str, tuple[str, str]] = {
    "templates": ("templates", "custom"),
    "guidance": ("generation", "guidance"),
    "negative_prompt": ("generation", "negative_prompt"),
    "images_per_prompt": ("generation", "images_per_prompt"),
}
_BY_NAME = {(s.section, s.key): s for s in SETTINGS}


def setting(section: str, key: str) -> Setting:
    """The declaration of ``[section] key`` (``section`` "" for the top level)."""
    return _BY_NAME[(section, key)]


def section_settings(section: str) -> tuple[Setting, ...]:
    """The settings of one section, in the order the doc lists them."""
    return tuple(s for s in SETTINGS if s.section == section)


def default(section: str, key: str) -> Any:
    """The default of ``[section] key``: the one place it is written."""
    return setting(section, key).default


def labelled() -> tuple[Setting, ...]:
    """The settings the setup screen shows, in its order."""
    return tuple(s for s in SETTINGS if s.label)
