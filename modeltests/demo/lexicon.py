"""Hand-written lexicons for the demo sentiment corpus.

Entries that start with ``*`` are held out of the training split: they appear only in
evaluation sentences, so the evaluation set measures generalisation to unseen words and
phrasings (see :func:`pool`). Everything is a list or tuple, never a set, so iteration order
and therefore the generated corpus are the same on every run.
"""

from __future__ import annotations

from dataclasses import dataclass

POSITIVE = "positive"
NEGATIVE = "negative"
LABELS: tuple[str, str] = (NEGATIVE, POSITIVE)

HELD_OUT = "*"


def pool(words: tuple[str, ...], split: str) -> tuple[str, ...]:
    """Return the entries of ``words`` usable in ``split`` ("train" or "eval")."""
    if split == "train":
        return tuple(w for w in words if not w.startswith(HELD_OUT))
    return tuple(w.lstrip(HELD_OUT) for w in words)


@dataclass(frozen=True)
class Topic:
    """Everything the templates need to talk about one kind of thing."""

    name: str
    items: tuple[str, ...]  # singular noun phrases: "the hotel"
    aspects: tuple[str, ...]  # "noun phrase|verb": "the staff|were"
    nouns: tuple[str, ...]  # countable, for "a great film"
    headlines: tuple[str, ...]  # for "Great food!"
    past: str  # "I'm glad I {past} the hotel"
    gerund: str  # "I regret {gerund} the hotel"
    perfect: str  # "the best hotel I have ever {perfect}"
    again: str  # "I would never {again}"
    cost: str  # "not worth the {cost}"
    openers: tuple[str, ...]  # neutral context for long sentences
    positive: tuple[str, ...]  # positive clauses
    negative: tuple[str, ...]  # negative clauses

    def clauses(self, label: str) -> tuple[str, ...]:
        """The topic's clauses of one polarity."""
        return self.positive if label == POSITIVE else self.negative


TOPICS: tuple[Topic, ...] = (
    Topic(
        name="movie",
        items=("the movie", "this film", "the sequel", "the new thriller", "*the documentary"),
        aspects=("the acting|was", "the plot|was", "the soundtrack|was", "the ending|was",
                 "the dialogue|was", "the cast|was", "the special effects|were",
                 "*the cinematography|was"),
        nouns=("film", "movie", "sequel", "*comedy"),
        headlines=("film", "movie", "acting", "*soundtrack"),
        past="watched", gerund="watching", perfect="seen", again="watch it again",
        cost="time",
        openers=("We went to see it on opening night with a group of friends",
                 "I finally watched it at home on a quiet Sunday afternoon",
                 "My brother took me to the late showing after work",
                 "*I streamed it last weekend after hearing a lot about it"),
        positive=("the story kept me hooked until the very end",
                  "the cast had wonderful chemistry", "the soundtrack gave me chills",
                  "the jokes landed every time", "the visuals were stunning",
                  "the final scene moved me to tears", "*the director did a fantastic job",
                  "*every minute felt worth it"),
        negative=("the plot made no sense", "I nearly fell asleep halfway through",
                  "the dialogue was painfully wooden", "the jokes fell flat",
                  "the ending was a mess", "it dragged on far too long",
                  "*the characters were paper thin", "*the sound mix was muddy"),
    ),
    Topic(
        name="restaurant",
        items=("the restaurant", "this place", "the bistro", "the cafe", "*the new pizzeria"),
        aspects=("the food|was", "the service|was", "the staff|were", "the dessert|was",
                 "the atmosphere|was", "the pasta|was", "the steak|was", "*the wine|was"),
        nouns=("restaurant", "meal", "dinner", "*brunch"),
        headlines=("food", "service", "meal", "*dinner"),
        past="ate at", gerund="eating at", perfect="eaten at", again="eat there again",
        cost="money",
        openers=("We went there for my sister's birthday last Friday",
                 "I booked a table for two on a busy Saturday night",
                 "We stopped by for a late lunch after a long walk",
                 "*My colleagues and I tried it for a team dinner"),
        positive=("the food arrived hot and fresh", "the staff were lovely",
                  "the portions were generous", "the waiter was attentive and kind",
                  "the desserts were heavenly", "the pasta tasted homemade",
                  "*the prices were very fair", "*the wine list was excellent"),
        negative=("the food was cold", "we waited an hour for our table",
                  "the waiter ignored us all night", "the soup was bland and salty",
                  "the bill was outrageous", "the tables were sticky",
                  "*the chicken was undercooked", "*the music was deafening"),
    ),
    Topic(
        name="hotel",
        items=("the hotel", "the resort", "the lodge", "the guesthouse", "*this inn"),
        aspects=("the room|was", "the staff|were", "the breakfast|was", "the location|was",
                 "the bed|was", "the pool|was", "the view|was", "*the spa|was"),
        nouns=("hotel", "stay", "room", "*resort"),
        headlines=("hotel", "room", "stay", "*breakfast"),
        past="stayed at", gerund="staying at", perfect="stayed at", again="stay there again",
        cost="money",
        openers=("We stayed there for three nights with the kids in August",
                 "I booked it for a business trip at the last minute",
                 "We spent our anniversary weekend there",
                 "*My parents and I checked in late on a Thursday evening"),
        positive=("the room was spotless", "the bed was wonderfully comfortable",
                  "the staff went out of their way to help", "the breakfast was delicious",
                  "the view from our balcony was breathtaking", "check-in took two minutes",
                  "*the pool was clean and quiet", "*the location was perfect"),
        negative=("the room smelled of smoke", "the sheets were stained",
                  "the air conditioning was broken", "the walls were paper thin",
                  "the front desk was rude", "the shower ran cold",
                  "*the wifi kept dropping", "*there was mold in the bathroom"),
    ),
    Topic(
        name="product",
        items=("the phone", "this laptop", "the tablet", "the new phone", "*the smartwatch"),
        aspects=("the battery|was", "the screen|was", "the camera|was", "the sound|was",
                 "the build quality|was", "the design|was", "the speaker|was",
                 "*the packaging|was"),
        nouns=("phone", "laptop", "purchase", "*gadget"),
        headlines=("phone", "product", "purchase", "*battery"),
        past="bought", gerund="buying", perfect="owned", again="buy it again",
        cost="money",
        openers=("I bought it last month to replace my old one",
                 "I ordered it online after reading a dozen reviews",
                 "My wife gave it to me for my birthday",
                 "*I picked it up on sale before a long trip abroad"),
        positive=("the battery lasts all day", "the screen is sharp and bright",
                  "setup took five minutes", "it feels solid and well made",
                  "the camera takes gorgeous photos", "it charges really fast",
                  "*the sound quality is excellent", "*it works exactly as advertised"),
        negative=("the battery dies by noon", "the screen cracked after a week",
                  "it overheats constantly", "the buttons feel cheap",
                  "it stopped working after two days", "the charger broke immediately",
                  "*the camera takes blurry photos", "*it is painfully slow"),
    ),
    Topic(
        name="customer_service",
        items=("the customer service", "their support team", "the support line",
               "the call center", "*the help desk"),
        aspects=("the agent|was", "the support|was", "the response|was", "the service|was",
                 "the representative|was", "the staff|were", "the follow-up|was",
                 "*the live chat|was"),
        nouns=("experience", "support team", "service desk", "*call"),
        headlines=("service", "support", "help", "*response"),
        past="called", gerund="calling", perfect="dealt with", again="call them again",
        cost="time",
        openers=("I contacted them about a billing error on my account",
                 "I called them twice last week about a broken order",
                 "I reached out through the website about a missing parcel",
                 "*I had to get in touch about a double charge on my card"),
        positive=("the agent solved my problem in minutes", "they refunded me right away",
                  "the representative was patient and friendly",
                  "my issue was fixed on the first call", "they followed up the next day",
                  "the support team was genuinely helpful",
                  "*I got a reply within an hour", "*they replaced the item at no cost"),
        negative=("I was on hold for two hours", "the agent hung up on me",
                  "nobody answered my emails", "they kept transferring me",
                  "the representative was rude", "my refund never arrived",
                  "*they ignored my complaint", "*the chatbot was useless"),
    ),
    Topic(
        name="book",
        items=("the book", "this novel", "the memoir", "the sequel", "*the biography"),
        aspects=("the writing|was", "the plot|was", "the characters|were", "the ending|was",
                 "the prose|was", "the story|was", "the pacing|was", "*the translation|was"),
        nouns=("book", "novel", "read", "*story"),
        headlines=("book", "read", "novel", "*writing"),
        past="read", gerund="reading", perfect="read", again="read it again",
        cost="time",
        openers=("I read it over a long weekend at the beach",
                 "Our book club picked it for this month",
                 "I bought it at the airport before a long flight",
                 "*A friend lent me her copy a few weeks ago"),
        positive=("the characters felt real", "I could not put it down",
                  "the writing is beautiful", "the ending was perfect",
                  "every chapter surprised me", "the author has a wonderful voice",
                  "*the story stayed with me for weeks", "*the dialogue is sharp and witty"),
        negative=("the plot was predictable", "I gave up after fifty pages",
                  "the writing is clumsy", "the characters were flat",
                  "the ending felt rushed", "it was a slog to get through",
                  "*the middle dragged badly", "*the twist was obvious from page one"),
    ),
    Topic(
        name="app",
        items=("the app", "this app", "the latest update", "the new version",
               "*the mobile app"),
        aspects=("the interface|was", "the design|was", "the update|was",
                 "the performance|was", "the layout|was", "the search feature|was",
                 "the notifications|were", "*the onboarding|was"),
        nouns=("app", "tool", "update", "*service"),
        headlines=("app", "update", "interface", "*design"),
        past="downloaded", gerund="installing", perfect="used", again="use it again",
        cost="money",
        openers=("I have been using it every day for about a month",
                 "I installed it on my phone and my tablet last week",
                 "Our whole team switched to it at the start of the year",
                 "*I tried it after my old app stopped being supported"),
        positive=("it runs smoothly", "the interface is clean and intuitive",
                  "the latest update fixed every bug", "syncing works perfectly",
                  "it saves me hours every week", "the notifications are actually useful",
                  "*it loads instantly", "*the design is gorgeous"),
        negative=("it crashes every time I open it", "the latest update broke everything",
                  "it drains my battery", "the ads are unbearable",
                  "it freezes constantly", "I lost all my data",
                  "*the interface is confusing", "*login fails half the time"),
    ),
)

# Polarity lexicons: (positive words, negative words).
ADJECTIVES = {
    POSITIVE: ("good", "great", "excellent", "wonderful", "fantastic", "superb", "brilliant",
               "lovely", "delightful", "impressive", "outstanding", "enjoyable", "pleasant",
               "amazing", "terrific", "perfect", "charming", "*splendid", "*marvelous"),
    NEGATIVE: ("bad", "terrible", "awful", "horrible", "dreadful", "disappointing", "mediocre",
               "poor", "dull", "boring", "unpleasant", "frustrating", "lousy", "sloppy",
               "pathetic", "appalling", "annoying", "*atrocious", "*abysmal"),
}
GRADABLE = {
    POSITIVE: ("good", "nice", "enjoyable", "pleasant", "impressive", "charming", "*lovely"),
    NEGATIVE: ("bad", "boring", "disappointing", "dull", "poor", "frustrating", "*annoying"),
}
EXTREME = {
    POSITIVE: ("amazing", "fantastic", "brilliant", "superb", "outstanding", "wonderful",
               "perfect", "*incredible"),
    NEGATIVE: ("terrible", "awful", "horrible", "dreadful", "appalling", "pathetic",
               "*abysmal"),
}
GRADABLE_INTENSIFIERS = ("very", "really", "extremely", "incredibly", "remarkably", "so",
                         "*exceptionally", "*genuinely")
EXTREME_INTENSIFIERS = ("absolutely", "truly", "simply", "*utterly")
# Adjectives that read naturally after "not": the opposite polarity of the sentence's label.
NEGATABLE = {
    POSITIVE: ("good", "great", "impressive", "enjoyable", "pleasant", "memorable",
               "*nice"),
    NEGATIVE: ("bad", "boring", "disappointing", "terrible", "awful", "unpleasant",
               "*mediocre"),
}
VERBS = {
    POSITIVE: ("loved", "enjoyed", "adored", "really liked", "was impressed by",
               "was delighted with", "*fell in love with"),
    NEGATIVE: ("hated", "disliked", "was disappointed by", "was annoyed by",
               "regretted choosing", "was let down by", "*was fed up with"),
}
STRONG_VERBS = {
    POSITIVE: ("absolutely loved", "thoroughly enjoyed", "really loved", "truly adored",
               "*genuinely loved"),
    NEGATIVE: ("absolutely hated", "really disliked", "truly despised", "completely hated",
               "*utterly despised"),
}
SHORT_VERBS = {
    POSITIVE: ("loved", "adored", "enjoyed", "*liked"),
    NEGATIVE: ("hated", "disliked", "regretted", "*despised"),
}
EXCLAMATIONS = {
    POSITIVE: ("Highly recommended!", "Worth every penny.", "Five stars!", "Two thumbs up!",
               "Simply perfect.", "Would come back.", "Exceeded my expectations!",
               "Pure joy.", "Loved every minute.", "Top notch!", "Great value.",
               "Would recommend!", "Best ever!", "So good!", "Really impressive.",
               "Absolutely wonderful!", "*A total delight!", "*Money well spent."),
    NEGATIVE: ("Never again.", "Avoid at all costs.", "Total waste of money.", "One star.",
               "What a letdown.", "Do not bother.", "Completely useless.",
               "Deeply disappointing.", "Waste of time.", "Total rip-off!", "Very poor.",
               "Big mistake.", "So disappointing.", "Really bad.", "Awful experience.",
               "Utterly awful!", "*Save your money.", "*A complete disaster."),
}
SUMMARIES = {
    POSITIVE: ("I still loved it", "overall it was worth it", "I would happily {again}",
               "overall I was really happy", "it was a great experience overall",
               "I can't wait to {again}", "*I'd still give it five stars"),
    NEGATIVE: ("I still would not recommend it", "overall it was a letdown",
               "I won't {again}", "overall I was disappointed",
               "it was a waste of {cost} in the end", "I want my money back",
               "*I'd give it one star at most"),
}
CONSEQUENCES = {
    POSITIVE: ("told all my friends about it", "wrote a glowing review",
               "*recommended it to everyone I know"),
    NEGATIVE: ("asked for a refund", "wrote an angry review", "*warned all my friends"),
}
SUPERLATIVES = {POSITIVE: "best", NEGATIVE: "worst"}
PEOPLE = ("My sister", "My friend", "The critic", "My colleague", "My husband",
          "My neighbor", "Everyone I know", "*My roommate")
SAID = ("said", "told me", "thought", "insisted", "wrote that", "*swore")
FIRST_PERSON = ("I", "me", "my", "we", "us", "our")
