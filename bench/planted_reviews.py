"""Simulated reviews about needs the Amazon beauty corpus hardly mentions, for planting into it.

Written for launchlab's emerging-need benchmark (``bench/bench_emerging.py``): each topic is a
pool of review titles and sentences with slots, so a seeded generator gives as many distinct,
varied reviews as a ramp needs. The texts are simulated (written by launchlab's developers, not
collected from customers); the benchmark says so wherever it reports on them.

Topics were chosen so the detector meets different neighbourhoods of the real corpus:

* ``sun``: sunscreen and SPF (2 of 4,161 real reviews say "sunscreen");
* ``refill``: refill pouches and plastic-free packaging (near the real bottle/packaging talk);
* ``maskne``: breakouts and irritation from wearing a face mask all day (new);
* ``unscented``: fragrance-free products for sensitive skin (inside the corpus' large scent need).
"""

from __future__ import annotations

import re

import numpy as np

TOPICS: dict[str, dict[str, list[str] | dict[str, list[str]]]] = {
    "sun": {
        "titles": [
            "Finally a sunscreen I wear daily", "No white cast", "My new everyday SPF", "Saved me at the beach",
            "Great sun protection", "Reef safe and gentle", "Best mineral sunscreen so far", "No more sunburn",
            "Goes on clear", "Good SPF for sensitive skin", "Sun protection that works", "Beach bag staple",
        ],
        "sentences": [
            "I put this {spf} sunscreen on every morning before {outdoor}.",
            "It goes on without leaving a white cast, even on my {skin} skin.",
            "I spent {hours} hours at the {place} and did not get burned at all.",
            "After years of sunburned shoulders I finally found a sunscreen I actually reapply.",
            "The {filter} formula does not sting my eyes when I sweat.",
            "I reapply it every two hours at the {place} and it still feels light.",
            "My dermatologist told me to wear SPF daily, and this one makes that easy.",
            "It works well under makeup as a daily {spf} layer.",
            "I got a little pink on my nose, so I reapply more often now.",
            "It is water resistant for about {minutes} minutes of swimming.",
            "The sun protection held up during a long day of {outdoor}.",
            "I like that it is reef safe, since we snorkel a lot.",
            "My kids let me put this sunscreen on them without a fight.",
            "It leaves a slight sheen but no greasy residue after it dries.",
            "I keep a tube in the car for UV protection on long drives.",
            "The broad spectrum protection is the reason I switched.",
            "Zinc sunscreens usually look chalky on me, but this one blends in.",
            "I have fair skin and burn easily, and this kept me protected all afternoon.",
            "It does not clog my pores the way my old sunscreen did.",
            "I wish the {spf} version came in a bigger bottle for summer.",
            "The spray version of this sunscreen covers my back easily.",
            "I noticed fewer sun spots after a summer of daily use.",
        ],
        "slots": {
            "spf": ["SPF 30", "SPF 50", "SPF 45", "SPF 50+", "SPF 35"],
            "outdoor": ["my morning run", "gardening", "walking the dog", "hiking", "tennis", "my commute", "biking to work"],
            "skin": ["olive", "dark", "brown", "tan", "medium"],
            "hours": ["three", "four", "five", "six"],
            "place": ["beach", "pool", "lake", "park", "soccer field"],
            "filter": ["mineral", "zinc oxide", "tinted mineral", "chemical-free"],
            "minutes": ["40", "80", "60"],
        },
    },
    "refill": {
        "titles": [
            "Love the refill pouch", "Less plastic in my bathroom", "Refills make sense", "Glass bottle is lovely",
            "Finally a refillable option", "Plastic-free and works", "Good for the planet", "The refill system is clever",
            "Zero waste bathroom win", "Wish everything came as a refill",
        ],
        "sentences": [
            "I buy the refill pouch and pour it into the {container} I already have.",
            "The refill uses about {percent} percent less plastic than a new bottle.",
            "I like that the packaging is recyclable and the pouch is compostable.",
            "We are trying to cut plastic waste at home and this refill helps.",
            "The {container} looks nice on the counter and I just keep refilling it.",
            "Refilling is a bit messy, so I use a small funnel.",
            "I wish the store sold the refill in a bigger size.",
            "It ships without plastic wrap, just paper and cardboard.",
            "Our local refill station carries it, so I bring my own bottle.",
            "The aluminum bottle feels sturdy and should last for years.",
            "I have refilled the same {container} {times} times now.",
            "It is nice to stop throwing away a plastic bottle every month.",
            "The refill cartridge clicks into the case with no leaks.",
            "I return the empty pouches through the brand's recycling program.",
            "Buying refills is cheaper per ounce than buying new bottles.",
            "The bar comes in a paper box, so there is no plastic at all.",
            "I switched my whole family to the refill version to reduce waste.",
            "The pump on the refillable bottle works better than the original.",
            "Plastic-free packaging was the main reason I tried it.",
            "The concentrate refill mixes with tap water in the {container}.",
        ],
        "slots": {
            "container": ["glass bottle", "glass jar", "aluminum bottle", "pump bottle", "forever bottle"],
            "percent": ["70", "80", "85", "60"],
            "times": ["four", "five", "six", "ten", "a dozen"],
        },
    },
    "maskne": {
        "titles": [
            "Helped my mask breakouts", "Maskne is real", "Calms skin under my mask", "Chin breakouts gone",
            "Good for long shifts in a mask", "Gentle under a face mask", "Finally clearer skin", "Soothes mask irritation",
            "Works for maskne", "Less redness from masks",
        ],
        "sentences": [
            "Wearing a face mask for {hours} hours at work gave me breakouts along my chin.",
            "Since I started using this, the bumps where my mask rubs have calmed down.",
            "I am a {job} and wear an N95 all shift, and my skin was a mess.",
            "The irritation behind my ears and on my nose from the mask is much better.",
            "My maskne cleared up in about {weeks} weeks.",
            "I put a thin layer on before my mask and my cheeks no longer get raw.",
            "Breathing into a mask all day made my jawline break out.",
            "The redness under my surgical mask faded after a week.",
            "It is light enough that my mask does not feel sticky over it.",
            "I still get the odd spot on my chin, but nothing like before.",
            "My teenager wears a mask at school and uses this every night.",
            "It does not pill under my cloth mask like my old moisturizer.",
            "The friction from the mask straps used to leave dry patches, not anymore.",
            "I wash my masks often too, but this made the real difference.",
            "My skin finally stopped breaking out under the mask.",
            "The clogged pores around my mouth from the mask are clearing.",
            "After a long {job} shift in a mask my face used to burn, now it is calm.",
            "I keep a travel size in my bag for mask breaks at work.",
        ],
        "slots": {
            "hours": ["eight", "ten", "twelve", "nine"],
            "job": ["nurse", "dental hygienist", "teacher", "cashier", "pharmacist", "warehouse worker"],
            "weeks": ["two", "three", "four"],
        },
    },
    "unscented": {
        "titles": [
            "Finally fragrance free", "No perfume, no rash", "Unscented and gentle", "Great for sensitive skin",
            "No added fragrance", "Perfect for my eczema", "Scent-free is a must for me", "No headaches",
            "Fragrance free version please", "Gentle and unscented",
        ],
        "sentences": [
            "I need fragrance-free products because perfume gives me {reaction}.",
            "This unscented version does not irritate my sensitive skin.",
            "My {who} has eczema and this is one of the few things that does not make it flare.",
            "There is no added fragrance at all, just a faint natural smell of the ingredients.",
            "Scented lotions make my skin itch, so I only buy the unscented kind.",
            "I wish they made all of their products without fragrance.",
            "My dermatologist recommended a fragrance-free routine and this fits it.",
            "It does not trigger my {reaction} like scented products do.",
            "I work in a scent-free office, so this was a must.",
            "The label says hypoallergenic and free of perfume and dyes.",
            "Even my {who}, who reacts to everything, can use it.",
            "I was worried about a hidden masking fragrance, but there is none.",
            "Fragrance-free is the only way I can use a body wash every day.",
            "My skin stopped getting red patches once I dropped scented products.",
            "No perfume smell lingers, which matters to me with my allergies.",
            "I switched to the unscented one after a rash from the original.",
            "It is gentle enough for the {who} with sensitive skin.",
            "Finally a product without fragrance that still feels luxurious.",
        ],
        "slots": {
            "reaction": ["migraines", "hives", "a rash", "headaches", "itching", "contact dermatitis"],
            "who": ["daughter", "son", "husband", "toddler", "mother", "baby"],
        },
    },
}

# Sentences any beauty review may carry: they make the planted reviews look like real ones and
# keep the topic signal to part of each review, as in real reviews.
FILLER = [
    "Shipping was quick.", "The bottle lasts me about {months} months.", "I will buy it again.",
    "The price is fair for the size.", "It arrived well packaged.", "A little goes a long way.",
    "My sister uses it too.", "I have recommended it to friends.", "It absorbs quickly.",
    "Not cheap, but worth it.", "I ordered two more.", "It feels nice on my skin.",
]
FILLER_SLOTS = {"months": ["two", "three", "four"]}
_SLOT = re.compile(r"\{(\w+)\}")


# Openers and closers vary the topic sentences the way people vary them, so that planted
# mentions are rarely verbatim repeats of each other.
OPENERS = [
    "", "", "", "Honestly, ", "To be fair, ", "After a month, ", "So far, ", "I have to say ", "Funny enough, ",
    "For what it's worth, ", "Like others said, ", "My main reason for buying: ", "Update: ", "Also, ", "Overall, ",
    "Two weeks in and ", "As someone who is picky, ", "On the plus side, ", "I noticed that ", "Bottom line: ",
]
CLOSERS = [
    "", "", "", " so far", " for me", " which is great", " and I am picky", " this time", " every single time",
    " without any problem", " as promised", " honestly", " at least for me", " most days", " which I did not expect",
]


def _fill(template: str, slots: dict[str, list[str]], rng: np.random.Generator) -> str:
    return _SLOT.sub(lambda m: slots[m.group(1)][rng.integers(len(slots[m.group(1)]))], template)


def _vary(sentence: str, rng: np.random.Generator) -> str:
    """The sentence with a random opener (lower-casing its first word) and closer before its full stop."""
    opener = OPENERS[rng.integers(len(OPENERS))]
    closer = CLOSERS[rng.integers(len(CLOSERS))]
    body, stop = (sentence[:-1], sentence[-1]) if sentence[-1] in ".!?" else (sentence, ".")
    if opener and not body.startswith("I "):
        body = body[0].lower() + body[1:]
    return f"{opener}{body}{closer}{stop}"


def filler_sentences() -> set[str]:
    """Every filler sentence a planted review may carry (they say nothing about its topic)."""
    out = set()
    for template in FILLER:
        names = _SLOT.findall(template)
        values = FILLER_SLOTS[names[0]] if names else [None]
        out.update(template if value is None else _SLOT.sub(value, template) for value in values)
    return out


def planted_reviews(topic: str, n: int, seed: int = 0) -> list[dict]:
    """``n`` distinct simulated reviews about ``topic``: dicts with ``title``, ``text`` and ``rating``.

    Each review has 2-4 topic sentences (in random order, slots filled, with a random opener and
    closer) and 0-2 filler sentences;
    ratings are mostly 4-5 stars. Seeded, so the same call gives the same reviews.
    """
    spec = TOPICS[topic]
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    seen: set[str] = set()
    while len(out) < n:
        k = int(rng.integers(2, 5))
        picks = rng.choice(len(spec["sentences"]), size=k, replace=False)
        sentences = [_vary(_fill(spec["sentences"][i], spec["slots"], rng), rng) for i in picks]
        for _ in range(int(rng.integers(0, 3))):
            sentences.insert(int(rng.integers(len(sentences) + 1)), _fill(FILLER[rng.integers(len(FILLER))], FILLER_SLOTS, rng))
        text = " ".join(sentences)
        if text in seen:
            continue
        seen.add(text)
        title = spec["titles"][rng.integers(len(spec["titles"]))]
        rating = float(rng.choice([5, 5, 5, 4, 4, 3, 2]))
        out.append({"title": title, "text": text, "rating": rating})
    return out
