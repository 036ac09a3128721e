"""The words a number is shown under: names and short headings of the headline measures
(:mod:`synthdiv.measures`) and of the per-class columns (:mod:`synthdiv.columns`), and which
columns each per-class view shows, in its order.

Plain data, without Textual: the dashboard and the compare screen read it, and so do the
command line's printing and the figures (the one module of ``screens`` every front end may
import). A test checks that every key here is declared there, and that every headline measure
has a name and a heading.
"""

from __future__ import annotations

# The report's and the figures' names of the headline measures.
HEADLINE_NAMES = {
    "adherence_judge": "adherence, judge", "adherence": "prompt adherence", "zero_shot_real": "CLIP zero-shot, real", "synthetic_to_real": "synthetic→real",
    "real_to_real": "real→real", "pixel_synthetic_to_real": "synthetic→real, pixels",
    "pixel_real_to_real": "real→real, pixels", "diversity_ratio": "diversity ratio", "vendi_ratio": "Vendi ratio (equal n)",
    "precision": "precision", "recall": "recall", "density": "density", "coverage": "coverage",
    "frechet": "Fréchet distance", "cmmd": "CMMD", "near_duplicates": "near-duplicates",
    "near_duplicates_real": "near-duplicates, real", "nearest_real_train": "nearest real train",
    "nearest_real_train_real": "nearest real train, real", "prompt_closeness": "closer to the prompt",
    "open_set_adherence": "adherence, open set", "open_set_adherence_real": "adherence, open set, real",
    "sense_confusion": "sense confusion", "sense_confusion_real": "sense confusion, real",
}

# Short headings of the headline measures, for table columns (the compare screen).
HEADLINE_HEADINGS = {
    "adherence_judge": "judge", "adherence": "adh", "zero_shot_real": "zs real", "synthetic_to_real": "s→r", "real_to_real": "r→r",
    "pixel_synthetic_to_real": "px s→r", "pixel_real_to_real": "px r→r",
    "diversity_ratio": "dist÷", "vendi_ratio": "Vendi÷", "precision": "prec", "recall": "recall",
    "density": "dens", "coverage": "cover", "frechet": "Fréchet", "cmmd": "CMMD", "near_duplicates": "near dup",
    "near_duplicates_real": "near dup r", "nearest_real_train": "near train", "nearest_real_train_real": "near train r",
    "prompt_closeness": "txt s−r", "open_set_adherence": "adh open", "open_set_adherence_real": "open r",
    "sense_confusion": "sense", "sense_confusion_real": "sense r",
}

# The per-class views: (key, heading) in the order shown. Keys are synthdiv.columns' of the table.
CAUSES = (  # the four-causes table (report and dashboard), its columns grouped by cause
    ("class", "class"), ("gap", "gap"), ("gap_low", "95% low"), ("gap_high", "95% high"), ("causes", "causes"),
    ("concept_synthetic_to_real", "s→r"), ("concept_pixel_synthetic_to_real", "px s→r"),
    ("concept_centroid_cosine", "cent"),
    ("adherence_main", "adh"), ("adherence_main_real", "adh real"), ("adherence_by", "adh by"),
    ("adherence_judge", "judge"), ("adherence_judge_low", "judge low"), ("adherence_judge_high", "judge high"),
    ("adherence_judge_real", "judge real"), ("open_set_adherence", "adh open"),
    ("open_set_adherence_low", "open low"), ("open_set_adherence_high", "open high"),
    ("open_set_adherence_real", "open real"), ("adherence", "adh closed"), ("adherence_real", "closed real"),
    ("read_as", "read as"), ("adherence_circular", "circular"),
    ("diversity_vendi_ratio", "Vendi÷"), ("diversity_distance_ratio", "dist÷"),
    ("sense_confusion", "sense"), ("sense_confusion_low", "sense low"), ("sense_confusion_high", "sense high"),
    ("sense_confusion_real", "sense r"), ("own_sense", "own sense"), ("own_sense_by", "own by"),
    ("other_senses", "other senses"),
    ("confusability_name_similarity", "name"), ("confusability_nearest_class", "nearest"),
    ("confusability_zero_shot", "zs conf"),
)
REPORT_CAUSES = (  # synthdiv report and run: the ranking, the labels and the main evidence (export: every column)
    ("class", "class"), ("gap", "gap"), ("gap_low", "95 % interval"), ("causes", "causes"),
    ("adherence_main", "adh"), ("adherence_main_real", "adh r"), ("sense_confusion", "sense"),
    ("sense_confusion_real", "sense r"), ("diversity_vendi_ratio", "Vendi÷"),
)
REPORT_CAUSES_LEGEND = (
    "gap: real→real − synthetic→real accuracy on the class's real test images, with its paired 95 % interval; "
    "causes: those whose evidence crosses its threshold (docs/causes.md); adh, adh r: the share of the synthetic and "
    "of the real images read as the class, by the [train] judge where it ran, else by CLIP among ImageNet-1k and the "
    "class's senses (open set); sense, sense r: the share nearer another WordNet sense of the class's name than its "
    "own (— : no other sense); Vendi÷: synthetic ÷ real at equal n. synthdiv export writes every column: the senses, "
    "what the images are read as, CLIP's closed-set adherence, confusability with the other classes."
)
CAUSES_LEGEND = (
    "gap: real→real − synthetic→real accuracy on the class's real test images (paired, 95 % interval); causes: "
    "those whose evidence crosses its threshold (docs/causes.md); "
    "concept: s→r real accuracy of the synthetic-trained probe on CLIP, px s→r of the synthetic-trained pixel "
    "classifier ([train] runs), cent synthetic·real centroid cosine; "
    "adherence: adh and adh real the share read as the class by adh by (judge: the [train] real-trained classifier; "
    "adh open: CLIP among ImageNet-1k and the class's senses; adh closed: CLIP among the experiment's classes), read "
    "as: what the synthetic images are read as instead; diversity: Vendi÷ and dist÷ synthetic ÷ real; ambiguity: "
    "sense (sense r) the share of synthetic (real) images nearer another WordNet sense than their own; "
    "confusability: name highest text similarity to another class (nearest), zs conf share of real images "
    "zero-shot put in another class"
)
DIVERSITY = (  # the dashboard's Diversity tab
    ("class", "class"), ("n_synthetic", "n syn"), ("n_real", "n real"), ("vendi_synthetic", "Vendi syn"),
    ("vendi_real", "Vendi real"), ("distance_synthetic", "dist syn"), ("distance_real", "dist real"),
    ("precision", "prec"), ("recall", "recall"), ("density", "dens"), ("coverage", "cover"),
    ("frechet", "Fréchet"), ("n_equal", "n eq"), ("near_duplicates", "near dup"),
    ("nearest_real_train", "near train"), ("separability", "separ."),
)
ACCURACY = (  # the dashboard's Accuracy tab
    ("class", "class"), ("synthetic_to_real", "synth→real"), ("synthetic_to_real_low", "95% low"),
    ("synthetic_to_real_high", "95% high"), ("real_to_real", "real→real"),
    ("zero_shot_real", "zs real"), ("zero_shot_synthetic", "zs synth"), ("n_real_test", "n test"),
    ("pixel_synthetic_to_real", "px s→r"), ("pixel_real_to_real", "px r→r"),
)
ENCODER = (  # synthdiv report: an image-only encoder's per-class columns (accuracy and diversity rows joined)
    ("class", "class"), ("synthetic_to_real", "s→r"), ("real_to_real", "r→r"), ("vendi_ratio", "Vendi÷"),
    ("distance_ratio", "dist÷"), ("precision", "prec"), ("recall", "rec"), ("frechet", "Fréchet"),
)
# The four causes' per-class numbers drawn as bars on the Four causes tab (b cycles), with their words.
CAUSE_BARS = (
    ("gap", "gap", "real→real − synthetic→real accuracy on the real test images (0: no gap)"),
    ("concept_synthetic_to_real", "concept", "synthetic→real accuracy (share of real test images)"),
    ("adherence_main", "adherence", "share of synthetic images read as the class"),
    ("diversity_vendi_ratio", "diversity", "Vendi score synthetic ÷ real (1 = as diverse)"),
    ("sense_confusion", "ambiguity", "share of synthetic images nearer another sense of the name"),
)
# Which synthdiv.columns table each view's keys belong to (ENCODER joins two).
VIEW_TABLES = {"CAUSES": ("four_causes",), "REPORT_CAUSES": ("four_causes",), "CAUSE_BARS": ("four_causes",), "DIVERSITY": ("diversity",),
               "ACCURACY": ("accuracy",), "ENCODER": ("accuracy", "diversity")}
