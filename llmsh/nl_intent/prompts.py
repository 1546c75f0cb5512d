"""The prompt lexicons: what a person asks a model for, and what is no command.

``generate`` templates fill ``task`` (an imperative, "write a haiku about
autumn"), ``question``, ``noun`` ("a poem about the sea"), ``start`` (text to
continue) and ``prompt`` (a task or a question); ``reject`` templates fill
``junk`` (keyboard mash, word salad) and ``chitchat``. The templates are in
``corpus/language.json``.
"""

from __future__ import annotations

import random
import string

FORMS = ("a haiku", "a short poem", "a limerick", "a story", "an email", "a tweet", "a song",
         "a cover letter", "a blog post", "a product description", "a speech", "a riddle",
         "a sonnet", "a short essay", "a thank-you note", "two sentences", "a dialogue")  # fmt: skip
TOPICS = ("about autumn", "about the ocean", "about gpus", "about my cat", "for my mom's birthday",
          "about friendship", "about a robot who learns to love", "about coffee",
          "about the french revolution", "about rust programming", "about a rainy day in london",
          "asking for a day off", "about climate change", "about a lost dog", "about pizza",
          "to my landlord about the heating", "about learning to code", "about the moon")  # fmt: skip
VERBS = ("write", "compose", "draft", "create", "come up with")
TASKS = ("summarize the plot of hamlet", "summarise the history of rome in two sentences",
         "explain quantum computing to a child", "explain how attention works",
         "translate good morning to french", "list five fun facts about octopuses",
         "give me three ideas for dinner", "suggest names for a coffee shop",
         "tell me a joke about programmers", "tell me a story about dragons",
         "describe the taste of mango", "plan a weekend trip to rome",
         "brainstorm startup ideas", "rewrite this more politely: send me the file",
         "fix the grammar in: me and him goes to school", "convert 5 miles to kilometers",
         "recommend a good science fiction book", "outline a talk on transformers",
         "name three famous painters", "give me a recipe for pancakes",
         "explain the difference between tcp and udp", "list the planets in order")  # fmt: skip
QUESTIONS = ("what is the capital of france?", "why is the sky blue?", "how do vaccines work?",
             "who wrote pride and prejudice?", "what's a good name for a dog?",
             "how far away is the moon?", "what is a transformer model?",
             "what year did the berlin wall fall", "how does photosynthesis work",
             "why do cats purr?", "is coffee bad for you?", "what should I cook tonight?",
             "who invented the telephone", "how many legs does a spider have?",
             "what does lora stand for in machine learning?", "why is python so popular")  # fmt: skip
STARTS = ("once upon a time", "the meaning of life is", "dear hiring manager,",
          "in a galaxy far away", "the best way to learn is", "it was a dark and stormy night",
          "roses are red,", "to whom it may concern,", "the future of ai will")  # fmt: skip
CHITCHAT = ("thanks", "ok", "cool", "never mind", "forget it", "nothing", "hmm", "oops",
            "sorry wrong window", "brb", "lol", "nvm", "yes", "no", "maybe", "good night",
            "hello", "hi there", "hey", "sure", "whatever", "I don't know", "no thanks",
            "good job", "nice", "awesome", "great", "ugh", "meh", "hmm let me think", "oh well",
            "thank you so much", "ok cool", "haha", "yep", "nope", "sounds good", "fine")  # fmt: skip
SALAD = ("purple", "banana", "keyboard", "elephant", "quickly", "table", "window", "river",
         "cloud", "spoon", "guitar", "orange", "sandwich", "umbrella", "mountain", "pencil",
         "happy", "lamp", "bicycle", "green", "tomorrow", "sideways", "marble", "velvet",
         "penguin", "carpet", "soft", "jazz", "lemon", "tuesday")  # fmt: skip
MASH = ("asdf", "qwerty", "jkl", "zzz", "asdfgh", "hjkl", "qwe", "sdfsdf", "xcvb", "uiop")


def task(rng: random.Random) -> tuple[str, list[str]]:
    if rng.random() < 0.55:
        text = f"{rng.choice(VERBS)} {rng.choice(FORMS)} {rng.choice(TOPICS)}"
    else:
        text = rng.choice(TASKS)
    return text, [text]


def noun(rng: random.Random) -> tuple[str, list[str]]:
    text = f"{rng.choice(FORMS)} {rng.choice(TOPICS)}"
    return text, [text]


def question(rng: random.Random) -> tuple[str, list[str]]:
    text = rng.choice(QUESTIONS)
    return text, [text]


def start(rng: random.Random) -> tuple[str, list[str]]:
    text = rng.choice(STARTS)
    return text, [text]


def prompt(rng: random.Random) -> tuple[str, list[str]]:
    return question(rng) if rng.random() < 0.3 else task(rng)


def junk(rng: random.Random) -> tuple[str, list[str]]:
    kind = rng.random()
    if kind < 0.35:
        text = rng.choice(MASH)
    elif kind < 0.6:
        text = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
    else:
        text = " ".join(rng.sample(SALAD, rng.randint(1, 4)))
    return text, []


def chitchat(rng: random.Random) -> tuple[str, list[str]]:
    return rng.choice(CHITCHAT), []


PROMPT_LEXICONS = {"task": task, "noun": noun, "question": question, "start": start,
                   "prompt": prompt, "junk": junk, "chitchat": chitchat}  # fmt: skip
